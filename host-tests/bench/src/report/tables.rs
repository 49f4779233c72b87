//! The report's tables: the allocators, the traces, the summaries (a row per trace, a column per
//! allocator), a table per trace, heap efficiency and scaling.

use super::format::{bytes, header, no_time, num, ratio, row, short_status};
use crate::driver::Abi;
use crate::options::Options;
use crate::peers::c_note;
use crate::replay::PerCall;
use crate::results::{Cell, Clock, Efficiency, Results, TraceResult};
use std::fmt::{self, Write};

pub fn allocators(w: &mut String, r: &Results) -> fmt::Result {
    writeln!(
        w,
        "## Allocators\n\n| allocator | what | measured (fuel, memory, time) as built with | module bytes (cargo) | bytes run | size column built with | size after `wasm-opt -Oz` |\n| --- | --- | --- | ---: | ---: | --- | ---: |"
    )?;
    for a in &r.allocs {
        let size_build = match &a.size.path {
            None if a.ran_opt => "the module run".to_string(),
            _ => a.size_build().short(),
        };
        let size = a.size.opt_size.map(|x| x.to_string()).unwrap_or_else(|| "—".into());
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {size_build} | {size} |",
            a.label,
            a.note,
            a.build().short(),
            a.raw_size,
            a.bytes.len()
        )?;
    }
    writeln!(
        w,
        "\n{}'s module exports the whole ABI (marks, `check`, `stats`, `size`, `allocate_aligned`); the peers' modules export only the three functions and their wrapper. The profiles in full are under How it is measured.",
        r.allocs[0].label
    )?;
    writeln!(w)?;
    if r.c_measured() && r.allocs.iter().any(|a| a.c.is_some()) {
        c_modules(w, r)?;
    }
    Ok(())
}

/// The modules the C-alignment measure runs, when they are not the allocators' own.
fn c_modules(w: &mut String, r: &Results) -> fmt::Result {
    writeln!(w, "The C-alignment tables run a module of each allocator built for C (see How it is measured):\n")?;
    writeln!(w, "| allocator | built as | built with | bytes run |\n| --- | --- | --- | ---: |")?;
    for a in &r.allocs {
        match &a.c {
            Some(c) => {
                let file = c.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                let note = match c_note(&a.name) {
                    "" => format!("`{file}`"),
                    n => n.to_string(),
                };
                let build = a.build().short();
                writeln!(w, "| {} | {note} | {build} | {} |", a.label, c.size)?;
            }
            None => writeln!(w, "| {} | the module above | | |", a.label)?,
        }
    }
    writeln!(w)
}

pub fn traces(w: &mut String, r: &Results) -> fmt::Result {
    let columns = "| trace | ops | alloc / free / realloc | peak live | driver fuel/op | what |";
    writeln!(w, "## Traces\n\n{columns}\n| --- | ---: | ---: | ---: | ---: | --- |")?;
    for t in &r.traces {
        let [allocs, frees, reallocs] = t.counts;
        let live = format!("{} in {} blocks", bytes(t.peak_live_bytes), t.peak_live_blocks);
        let driver = t.driver_per_op.map(num).unwrap_or_else(|| "—".into());
        writeln!(w, "| {} | {} | {allocs} / {frees} / {reallocs} | {live} | {driver} | {} |", t.name, t.ops, t.desc)?;
    }
    writeln!(w)
}

/// What each recorded trace's program does to the heap, computed from its trace.
pub fn recorded(w: &mut String, r: &Results) -> fmt::Result {
    let recorded: Vec<_> = r.traces.iter().filter_map(|t| t.profile.as_ref().map(|p| (t, p))).collect();
    if recorded.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "## Recorded programs
"
    )?;
    writeln!(
        w,
        "Each `recorded*` trace is the heap traffic of a real Rust program, built for wasm32-unknown-unknown in `host-tests/bench/peers` (the program and its crates, with the versions of the lock file, are in the table of traces above). Its `GlobalAlloc` calls are logged to the host (the `recording` crate) and replayed here. The figures below are computed from each trace: the requests are the allocations and the new sizes of the reallocations; the size shares are of those requests; a *LIFO free* frees the most recently allocated live block; a block's lifetime counts the ops from its allocation to its free.\n"
    )?;
    let names: Vec<&str> = crate::recorder::BUCKETS.iter().map(|b| b.1).collect();
    for (t, p) in recorded {
        let [allocs, frees, reallocs] = t.counts;
        let [median, p90, p99, max] = p.sizes;
        let shares: Vec<String> =
            p.buckets.iter().zip(&names).map(|(s, n)| format!("{n} {:.0} %", s * 100.0)).collect();
        let grows =
            if reallocs > 0 { format!(" ({:.0} % of them growing)", p.realloc_grows * 100.0) } else { String::new() };
        writeln!(
            w,
            "- **{}**: {allocs} allocations, {frees} frees, {reallocs} reallocations{grows}; request sizes median {}, 90th percentile {}, 99th {}, largest {} ({}); peak {} live in {} blocks; {:.0} % of the frees are LIFO; median lifetime {} ops.",
            t.name,
            bytes(median),
            bytes(p90),
            bytes(p99),
            bytes(max),
            shares.join(", "),
            bytes(t.peak_live_bytes),
            t.peak_live_blocks,
            p.lifo_frees * 100.0,
            p.median_lifetime
        )?;
    }
    writeln!(w)
}

/// A summary table: a row per trace, a column per allocator from `first` on, cells by `cell`.
fn per_allocator(
    w: &mut String,
    r: &Results,
    first: usize,
    cell: impl Fn(&TraceResult, usize) -> String,
) -> fmt::Result {
    let names = r.names();
    header(w, "trace", &names[first..])?;
    for t in &r.traces {
        let cells: Vec<String> = (first..names.len()).map(|a| cell(t, a)).collect();
        row(w, t.name, &cells)?;
    }
    writeln!(w)
}

/// The two time tables of one runtime: subject ÷ peer, and ns/op.
pub fn time(w: &mut String, r: &Results, c: Clock, title: &str) -> fmt::Result {
    let subject = r.allocs[0].name.as_str();
    writeln!(w, "## Time{title}: {subject} ÷ peer, per operation\n")?;
    writeln!(w, "Median of paired rounds; below 1 means {subject} is faster than that peer.\n")?;
    per_allocator(w, r, 1, |t, a| t.ratio(c, a).map(ratio).unwrap_or_else(|| no_time(t, c, a)))?;
    writeln!(w, "## Time{title} per operation (ns, median)\n")?;
    per_allocator(w, r, 0, |t, a| t.ns_per_op(c, a).map(num).unwrap_or_else(|| no_time(t, c, a)))
}

pub fn fuel(w: &mut String, r: &Results) -> fmt::Result {
    writeln!(w, "## Fuel per operation (allocator only: mean / max of one call)\n")?;
    per_allocator(w, r, 0, |t, a| match &t.cells[a].per_call {
        Some(pc) => format!("{} / {}", num(pc.total() as f64 / t.ops as f64), pc.max()),
        None => short_status(&t.cells[a].status),
    })
}

pub fn memory(w: &mut String, r: &Results) -> fmt::Result {
    writeln!(w, "## Memory: peak memory size ÷ peak live requested bytes\n")?;
    per_allocator(w, r, 0, |t, a| match t.memory_per_live(a) {
        Some(m) => format!("{m:.2}"),
        None => short_status(&t.cells[a].status),
    })
}

/// The C-alignment measure: fuel per op and memory ÷ peak live through `malloc`/`free`/`realloc`
/// (every block 16-aligned, checked), a row per trace, a column per allocator.
pub fn c_alignment(w: &mut String, r: &Results) -> fmt::Result {
    writeln!(
        w,
        "## C alignment: fuel per operation through malloc / free / realloc (allocator only: mean / max of one call)\n"
    )?;
    writeln!(
        w,
        "The same traces, called as a C program calls its allocator: every block 16-aligned, checked at every call (see How it is measured). Not timed.\n"
    )?;
    per_allocator(w, r, 0, |t, a| match t.c_cells.get(a) {
        Some(c @ Cell { per_call: Some(pc), .. }) if c.ok() => {
            format!("{} / {}", num(pc.total() as f64 / t.ops as f64), pc.max())
        }
        Some(c) => short_status(&c.status),
        None => "—".into(),
    })?;
    let drivers: Vec<String> =
        r.traces.iter().filter_map(|t| t.c_driver_per_op.map(|d| format!("{} {}", t.name, num(d)))).collect();
    if !drivers.is_empty() {
        writeln!(
            w,
            "The C driver's own fuel per op (the raw driver's plus its alignment checks), the same for every allocator: {}.\n",
            drivers.join(", ")
        )?;
    }
    writeln!(w, "## C alignment: peak memory size ÷ peak live requested bytes through malloc / free / realloc\n")?;
    per_allocator(w, r, 0, |t, a| match t.memory_per_live_of(Abi::C, a) {
        Some(m) => format!("{m:.2}"),
        None => t.c_cells.get(a).map(|c| short_status(&c.status)).unwrap_or_else(|| "—".into()),
    })
}

/// A table per trace: every figure of every allocator on it.
pub fn per_trace(w: &mut String, r: &Results) -> fmt::Result {
    let names = r.names();
    writeln!(w, "## Per trace\n")?;
    for t in &r.traces {
        writeln!(w, "### {}\n\n{}\n", t.name, t.desc)?;
        writeln!(
            w,
            "| allocator | fuel/op | max fuel: alloc / free / realloc | reallocs moved: share, bytes kept each | ns/op (runs) | {} ÷ this | memory | memory ÷ peak live |",
            names[0]
        )?;
        writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for (a, name) in names.iter().enumerate() {
            match &t.cells[a] {
                c @ Cell { per_call: Some(pc), .. } if c.ok() => {
                    row(w, name, &trace_cells(t, a, pc))?;
                }
                c => writeln!(w, "| {name} | {} | | | | | | |", c.status)?,
            }
        }
        writeln!(w)?;
    }
    Ok(())
}

/// One allocator's row of a trace's table, after its name.
fn trace_cells(t: &TraceResult, a: usize, pc: &PerCall) -> Vec<String> {
    let c = &t.cells[a];
    let moves = match pc.count[2] {
        0 => "—".to_string(),
        n => format!("{:.0} %, {}", 100.0 * pc.moved as f64 / n as f64, num(pc.copied as f64 / pc.moved.max(1) as f64)),
    };
    let ns = t.ns_per_op(Clock::Wasmtime, a).map(num).unwrap_or_else(|| "—".into());
    let vs_subject = match a {
        0 => "1".into(),
        _ => t.ratio(Clock::Wasmtime, a).map(ratio).unwrap_or_else(|| "—".into()),
    };
    vec![
        num(pc.total() as f64 / t.ops as f64),
        format!("{} / {} / {}", pc.max[0], pc.max[1], pc.max[2]),
        moves,
        format!("{ns} ({})", c.times.len()),
        vs_subject,
        bytes(c.memory as u64),
        format!("{:.2}", c.memory as f64 / t.peak_live_bytes.max(1) as f64),
    ]
}

pub fn efficiency(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    writeln!(w, "## Heap efficiency (talc's measure)\n")?;
    writeln!(
        w,
        "talc's `benches/src/heap_efficiency.rs` actions (50 % allocate 4 B–10 KB biased small, 10 % free, 40 % reallocate to 1 B–100 KB) in a memory capped at {} by a wasmtime `ResourceLimiter`, until the first allocation fails; the share of the cap in live requested bytes at that moment, over {} seeded trials. Higher is better. The module's static data and stack count against the cap; peers also pay their 8-byte headers.\n",
        bytes(opts.effort.efficiency_cap as u64),
        opts.effort.efficiency_trials
    )?;
    writeln!(w, "| allocator | mean | min | max | trials |")?;
    writeln!(w, "| --- | ---: | ---: | ---: | ---: |")?;
    for (e, name) in r.efficiency.iter().zip(r.names()) {
        writeln!(w, "| {name} | {} |", efficiency_cells(e))?;
    }
    writeln!(w)
}

/// Mean, min, max and the number of trials, as percentages (or the error and the trials before it).
fn efficiency_cells(e: &Efficiency) -> String {
    let trials = e.shares.len();
    if let Some(err) = &e.error {
        return format!("error: {err} | | | {trials}");
    }
    let percent = |x: f64| format!("{:.1} %", x * 100.0);
    let mean = e.shares.iter().sum::<f64>() / trials as f64;
    let min = e.shares.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = e.shares.iter().cloned().fold(0.0, f64::max);
    format!("{} | {} | {} | {trials}", percent(mean), percent(min), percent(max))
}

pub fn scaling(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    writeln!(w, "## Scaling: the most expensive single call vs heap size\n")?;
    writeln!(
        w,
        "The heap is filled with live blocks (log-uniform 16 B–16 KiB) until their requested bytes reach the heap size, a random half is freed, then {} mixed calls (40 % allocate, 40 % free, 20 % reallocate, same sizes) are made from the host with fuel read around each. Cells: the max fuel of one allocate / free / reallocate call (mean over all calls). A worst case that grows with the heap shows up as a growing max; reallocate's max is mostly the copy of a moved block (1 fuel a byte).\n",
        opts.effort.scaling_ops
    )?;
    let heaps: Vec<String> = r.scaling_heaps.iter().map(|h| format!("{} MiB", h >> 20)).collect();
    header(w, "allocator", &heaps.iter().map(String::as_str).collect::<Vec<_>>())?;
    for (cells, name) in r.scaling.iter().zip(r.names()) {
        let cells: Vec<String> = cells
            .iter()
            .map(|c| match &c.result {
                Ok((pc, _)) => format!(
                    "{} / {} / {} ({})",
                    pc.max[0],
                    pc.max[1],
                    pc.max[2],
                    num(pc.total() as f64 / pc.ops() as f64)
                ),
                Err(e) => e.clone(),
            })
            .collect();
        row(w, name, &cells)?;
    }
    writeln!(w)
}
