//! The report: Markdown tables (printed and written to BENCHMARKS.md) and a hand-written SVG bar
//! chart.

use crate::{Clock, Options, Results, Status, TraceResult};
use std::fmt::Write;

pub fn status_text(s: &Status) -> String {
    match s {
        Status::Ok => "ok".into(),
        Status::Failed(at) => format!("out of memory at op {at}"),
        Status::OverBudget(b) => format!("over the fuel budget ({:.0e})", *b as f64),
        Status::Error(e) => format!("error: {e}"),
    }
}

fn short_status(s: &Status) -> String {
    match s {
        Status::Ok => "—".into(),
        Status::Failed(_) => "OOM".into(),
        Status::OverBudget(b) => format!("> {:.0e} fuel", *b as f64),
        Status::Error(_) => "error".into(),
    }
}

fn bytes(n: u64) -> String {
    if n >= 10 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 10 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A ratio with two significant digits at least.
fn ratio(x: f64) -> String {
    if x >= 0.1 {
        format!("{x:.2}")
    } else if x >= 0.001 {
        format!("{x:.3}")
    } else {
        format!("{x:.1e}")
    }
}

fn ns_per_op(tr: &TraceResult, c: Clock, a: usize) -> Option<f64> {
    tr.median_time(c, a)
        .map(|d| d.as_secs_f64() * 1e9 / tr.ops as f64)
}

/// A table's header row and alignment row.
fn header(w: &mut String, first: &str, cols: &[&str]) {
    let _ = writeln!(w, "| {first} | {} |", cols.join(" | "));
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(cols.len()));
}

/// What a time cell shows when there is no time: why.
fn no_time(tr: &TraceResult, c: Clock, a: usize) -> String {
    let cell = &tr.cells[a];
    match (&cell.status, c, &cell.v8_error) {
        (Status::Ok, Clock::V8, Some(_)) => "error".into(),
        (Status::Ok, _, _) => "—".into(),
        (s, _, _) => short_status(s),
    }
}

/// The two time tables of one runtime: subject ÷ peer, and ns/op.
fn time_tables(w: &mut String, r: &Results, c: Clock, title: &str) {
    let names: Vec<&str> = r.allocs.iter().map(|a| a.name.as_str()).collect();
    let subject = names[0];
    let _ = writeln!(w, "## Time{title}: {subject} ÷ peer, per operation\n");
    let _ = writeln!(
        w,
        "Median of paired rounds; below 1 means {subject} is faster than that peer.\n"
    );
    header(w, "trace", &names[1..]);
    for t in &r.traces {
        let cells: Vec<String> = (1..names.len())
            .map(|a| t.ratio(c, a).map(ratio).unwrap_or_else(|| no_time(t, c, a)))
            .collect();
        let _ = writeln!(w, "| {} | {} |", t.name, cells.join(" | "));
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "## Time{title} per operation (ns, median)\n");
    header(w, "trace", &names);
    for t in &r.traces {
        let cells: Vec<String> = (0..names.len())
            .map(|a| {
                ns_per_op(t, c, a)
                    .map(num)
                    .unwrap_or_else(|| no_time(t, c, a))
            })
            .collect();
        let _ = writeln!(w, "| {} | {} |", t.name, cells.join(" | "));
    }
    let _ = writeln!(w);
}

/// The metadata line on the V8 timing.
fn v8_meta(r: &Results) -> String {
    match &r.v8 {
        Some((node, v8)) => format!(
            "V8: Node {node} (V8 {v8}), default tiering (Liftoff, then TurboFan), run as `node {} {}`",
            crate::v8::NODE_FLAGS.join(" "),
            crate::v8::SCRIPT_NAME
        ),
        None => "V8: not timed (`--no-v8`)".into(),
    }
}

fn fuel_per_op(tr: &TraceResult, a: usize) -> Option<f64> {
    tr.cells[a]
        .per_call
        .as_ref()
        .map(|pc| pc.total() as f64 / tr.ops as f64)
}

/// Memory size at the end ÷ the trace's peak of live requested bytes, for a cell that ran.
fn memory_per_live(tr: &TraceResult, a: usize) -> Option<f64> {
    let c = &tr.cells[a];
    (c.status == Status::Ok && c.memory > 0)
        .then(|| c.memory as f64 / tr.peak_live_bytes.max(1) as f64)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

pub fn markdown(opts: &Options, r: &Results) -> String {
    let mut s = String::new();
    let names: Vec<&str> = r.allocs.iter().map(|a| a.name.as_str()).collect();
    let subject = names[0];
    let w = &mut s;
    let _ = writeln!(w, "# wasmheap benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `scripts/bench{}` — do not edit by hand; run it again. Every number below was \
         measured in that run; nothing is copied from elsewhere.\n",
        if opts.quick { " --quick" } else { "" }
    );
    let _ = writeln!(
        w,
        "- mode: **{}** ({} timed rounds)",
        if opts.quick { "quick" } else { "full" },
        opts.reps
    );
    for m in &opts.meta {
        let _ = writeln!(w, "- {m}");
    }
    let _ = writeln!(w, "- machine: {}", machine());
    let _ = writeln!(
        w,
        "- runtime: wasmtime 48 (Cranelift), fuel metering for instruction counts, a second engine without fuel for time"
    );
    let _ = writeln!(w, "- {}", v8_meta(r));
    let _ = writeln!(
        w,
        "- modules run: {}",
        if r.allocs.iter().all(|a| a.ran_opt) {
            "after `wasm-opt -Oz --enable-bulk-memory` (all alike)"
        } else {
            "as cargo built them (`--run-raw`)"
        }
    );
    let _ = writeln!(w, "- the whole run took {:.0} s\n", r.elapsed.as_secs_f64());
    let _ = writeln!(
        w,
        "![time per operation relative to {subject}, and fuel per operation](chart.svg)\n"
    );

    // --- method -----------------------------------------------------------------------------
    let _ = writeln!(w, "## How it is measured\n");
    let _ = writeln!(
        w,
        "- Every allocator is a wasm module with the same raw ABI (`allocate`, `deallocate`, `reallocate`, `memory`; all `i32`). The peers are small `#![no_std]` wrapper crates in `host-tests/bench/peers/`, built for wasm32-unknown-unknown with wasmheap's profile (opt-level \"s\", LTO, one codegen unit, panic abort, strip, `-zstack-size=8192`). `GlobalAlloc` needs the size at free, so **each peer block carries an 8-byte header** in the wrapper (the requested size; 8 bytes keep 8-byte alignment): peers pay 8 bytes per block and a few instructions per call for it. wasmheap runs as it ships, with no wrapper."
    );
    let _ = writeln!(
        w,
        "- Traces are seeded and deterministic lists of (op, slot, size). A driver module generated with `wasm-encoder` imports the allocator's functions and memory, keeps the op list and its slot table in a second memory of its own (multi-memory), and replays the list inside wasm. It writes the first and last word of every block (bytes below 4 B) with a per-slot tag and checks them before free and realloc, and the first word after realloc; a mismatch traps."
    );
    let _ = writeln!(
        w,
        "- **fuel/op**: wasmtime fuel (one unit per wasm instruction, plus — in wasmtime 48's default cost table — one per byte moved by `memory.copy`/`memory.fill`, so a realloc that moves a block is charged for its copy) spent inside the allocator's exports, from a replay op by op from the host with fuel read around each call; mean over all ops. **max**: the largest single call (by kind: alloc / free / realloc). The whole in-wasm replay's fuel minus these calls is the driver's own work, identical for every allocator (checked), shown per trace below. **reallocs moved**: the share of reallocations that returned a new address, and the bytes each such move had to keep (the smaller of the old and new size), so that the copy's part of the realloc fuel can be told from the allocator's own work."
    );
    let _ = writeln!(
        w,
        "- **ns/op**: wall time of the single in-wasm replay call ÷ ops, on an engine without fuel, median of the rounds. Each run is a fresh instance that replays the trace once untimed (growing the memory and faulting its pages in; every trace ends with all blocks freed) and then timed, so that the figure is the allocator's work rather than the kernel's — except for bump, which never reuses memory. A trace whose replay takes under 0.3 s is timed 3 times back to back in that instance and the fastest counts (this filters out preemption on a shared machine). Rounds visit the allocators in a rotating order, so that A and B alternate. **{subject} ÷ peer**: median over rounds of the paired ratio (< 1: {subject} is faster). An allocator whose run takes over {:.1} s is timed once.",
        opts.slow.as_secs_f64()
    );
    if r.v8.is_some() {
        let _ = writeln!(
            w,
            "- **Time in V8**: the same driver and allocator modules (the bytes timed in wasmtime), the same traces, rounds and rules, run by `{}` under Node: every run a fresh allocator instance with a fresh driver instance linked to it, one untimed replay, then the fastest of 3 timed replays (`process.hrtime.bigint()`), rotating order, paired ratios. A warm-up comes first (a fresh instance per allocator replays the trace once, untimed) so that V8's tiering (Liftoff first, TurboFan for hot functions, as in a browser) has settled, and a full GC after each run (untimed) frees its memories as dropping the wasmtime store does.",
            crate::v8::SCRIPT_NAME
        );
    }
    let _ = writeln!(
        w,
        "- **memory ÷ peak live**: the memory size at the end (wasm memory never shrinks, so it is the peak) ÷ the trace's peak of live requested bytes. It includes each module's static data and 8 KiB stack."
    );
    let _ = writeln!(
        w,
        "- Wall times come from a shared 2-core machine; treat differences under ~10 % as noise. Fuel counts are exact and repeatable.\n"
    );

    // --- allocators -------------------------------------------------------------------------
    let _ = writeln!(w, "## Allocators\n");
    let _ = writeln!(
        w,
        "| allocator | what | module bytes (cargo) | after `wasm-opt -Oz` |"
    );
    let _ = writeln!(w, "| --- | --- | ---: | ---: |");
    for a in &r.allocs {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} |",
            a.name,
            a.note,
            a.raw_size,
            a.opt_size
                .map(|x| x.to_string())
                .unwrap_or_else(|| "—".into())
        );
    }
    let _ = writeln!(
        w,
        "\nwasmheap's module exports the whole ABI (marks, `check`, `stats`, `size`, `allocate_aligned`); the peers export only the three functions and their wrapper.\n"
    );

    // --- traces -----------------------------------------------------------------------------
    let _ = writeln!(w, "## Traces\n");
    let _ = writeln!(
        w,
        "| trace | ops | alloc / free / realloc | peak live | driver fuel/op | what |"
    );
    let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | --- |");
    for t in &r.traces {
        let _ = writeln!(
            w,
            "| {} | {} | {} / {} / {} | {} in {} blocks | {} | {} |",
            t.name,
            t.ops,
            t.counts[0],
            t.counts[1],
            t.counts[2],
            bytes(t.peak_live_bytes),
            t.peak_live_blocks,
            t.driver_per_op.map(num).unwrap_or_else(|| "—".into()),
            t.desc
        );
    }
    let _ = writeln!(w);

    // --- summaries --------------------------------------------------------------------------
    time_tables(w, r, Clock::Wasmtime, " in wasmtime");
    if r.v8.is_some() {
        time_tables(w, r, Clock::V8, " in V8");
    }

    let _ = writeln!(
        w,
        "## Fuel per operation (allocator only: mean / max of one call)\n"
    );
    header(w, "trace", &names);
    for t in &r.traces {
        let cells: Vec<String> = (0..names.len())
            .map(|a| match &t.cells[a].per_call {
                Some(pc) => format!("{} / {}", num(pc.total() as f64 / t.ops as f64), pc.max()),
                None => short_status(&t.cells[a].status),
            })
            .collect();
        let _ = writeln!(w, "| {} | {} |", t.name, cells.join(" | "));
    }
    let _ = writeln!(w);

    let _ = writeln!(
        w,
        "## Memory: peak memory size ÷ peak live requested bytes\n"
    );
    header(w, "trace", &names);
    for t in &r.traces {
        let cells: Vec<String> = (0..names.len())
            .map(|a| match memory_per_live(t, a) {
                Some(m) => format!("{m:.2}"),
                None => short_status(&t.cells[a].status),
            })
            .collect();
        let _ = writeln!(w, "| {} | {} |", t.name, cells.join(" | "));
    }
    let _ = writeln!(w);

    // --- per trace ----------------------------------------------------------------------------
    let _ = writeln!(w, "## Per trace\n");
    for t in &r.traces {
        let _ = writeln!(w, "### {}\n\n{}\n", t.name, t.desc);
        let _ = writeln!(
            w,
            "| allocator | fuel/op | max fuel: alloc / free / realloc | reallocs moved: share, bytes kept each | ns/op (runs) | {subject} ÷ this | memory | memory ÷ peak live |"
        );
        let _ = writeln!(
            w,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for (a, name) in names.iter().enumerate() {
            let c = &t.cells[a];
            if c.status != Status::Ok {
                let _ = writeln!(w, "| {name} | {} | | | | | | |", status_text(&c.status));
                continue;
            }
            let pc = c.per_call.as_ref().unwrap();
            let moves = match pc.count[2] {
                0 => "—".to_string(),
                n => format!(
                    "{:.0} %, {}",
                    100.0 * pc.moved as f64 / n as f64,
                    num(pc.copied as f64 / pc.moved.max(1) as f64)
                ),
            };
            let _ = writeln!(
                w,
                "| {name} | {} | {} / {} / {} | {moves} | {} ({}) | {} | {} | {:.2} |",
                num(pc.total() as f64 / t.ops as f64),
                pc.max[0],
                pc.max[1],
                pc.max[2],
                ns_per_op(t, Clock::Wasmtime, a)
                    .map(num)
                    .unwrap_or_else(|| "—".into()),
                c.times.len(),
                if a == 0 {
                    "1".into()
                } else {
                    t.ratio(Clock::Wasmtime, a)
                        .map(ratio)
                        .unwrap_or_else(|| "—".into())
                },
                bytes(c.memory as u64),
                c.memory as f64 / t.peak_live_bytes.max(1) as f64
            );
        }
        let _ = writeln!(w);
    }

    // --- heap efficiency ----------------------------------------------------------------------
    if !r.efficiency.is_empty() {
        let _ = writeln!(w, "## Heap efficiency (talc's measure)\n");
        let _ = writeln!(
            w,
            "talc's `benches/src/heap_efficiency.rs` actions (50 % allocate 4 B–10 KB biased small, 10 % free, 40 % reallocate to 1 B–100 KB) in a memory capped at {} by a wasmtime `ResourceLimiter`, until the first allocation fails; the share of the cap in live requested bytes at that moment, over {} seeded trials. Higher is better. The module's static data and stack count against the cap; peers also pay their 8-byte headers.\n",
            bytes(opts.he_cap as u64),
            opts.he_trials
        );
        let _ = writeln!(w, "| allocator | mean | min | max | trials |");
        let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: |");
        for (a, e) in r.efficiency.iter().enumerate() {
            if let Some(err) = &e.error {
                let _ = writeln!(
                    w,
                    "| {} | error: {err} | | | {} |",
                    names[a],
                    e.shares.len()
                );
                continue;
            }
            let mean = e.shares.iter().sum::<f64>() / e.shares.len() as f64;
            let min = e.shares.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = e.shares.iter().cloned().fold(0.0, f64::max);
            let _ = writeln!(
                w,
                "| {} | {:.1} % | {:.1} % | {:.1} % | {} |",
                names[a],
                mean * 100.0,
                min * 100.0,
                max * 100.0,
                e.shares.len()
            );
        }
        let _ = writeln!(w);
    }

    // --- scaling ------------------------------------------------------------------------------
    if !r.scaling.is_empty() {
        let _ = writeln!(
            w,
            "## Scaling: the most expensive single call vs heap size\n"
        );
        let _ = writeln!(
            w,
            "The heap is filled with live blocks (log-uniform 16 B–16 KiB) until their requested bytes reach the heap size, a random half is freed, then {} mixed calls (40 % allocate, 40 % free, 20 % reallocate, same sizes) are made from the host with fuel read around each. Cells: the max fuel of one allocate / free / reallocate call (mean over all calls). A worst case that grows with the heap shows up as a growing max; reallocate's max is mostly the copy of a moved block (1 fuel a byte).\n",
            opts.scaling_ops
        );
        let cols: Vec<String> = r
            .scaling_heaps
            .iter()
            .map(|h| format!("{} MiB", h >> 20))
            .collect();
        let cols: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
        header(w, "allocator", &cols);
        for (a, row) in r.scaling.iter().enumerate() {
            let cells: Vec<String> = row
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
            let _ = writeln!(w, "| {} | {} |", names[a], cells.join(" | "));
        }
        let _ = writeln!(w);
    }

    // --- what was not measured --------------------------------------------------------------
    let mut notes = Vec::new();
    for t in &r.traces {
        for (a, c) in t.cells.iter().enumerate() {
            if c.status != Status::Ok {
                notes.push(format!(
                    "{} on `{}`: {}",
                    names[a],
                    t.name,
                    status_text(&c.status)
                ));
            } else if c.times.len() < opts.reps && !c.times.is_empty() {
                notes.push(format!(
                    "{} on `{}`: timed {} time(s) only (slow)",
                    names[a],
                    t.name,
                    c.times.len()
                ));
            }
            if let Some(e) = &c.v8_error {
                notes.push(format!("{} on `{}` in V8: {e}", names[a], t.name));
            } else if r.v8.is_some() && c.v8_times.len() < opts.reps && !c.v8_times.is_empty() {
                notes.push(format!(
                    "{} on `{}` in V8: timed {} time(s) only (slow)",
                    names[a],
                    t.name,
                    c.v8_times.len()
                ));
            }
        }
    }
    let _ = writeln!(w, "## Gaps and caveats\n");
    let _ = writeln!(
        w,
        "- Every peer in the issue built on this toolchain (rustc 1.95, wasm32-unknown-unknown). talc is version 5, whose documented wasm setup is `talc::wasm::new_wasm_dynamic_allocator()`; the `Talck`/`WasmHandler` names belong to talc 4."
    );
    let _ = writeln!(
        w,
        "- talc's wasm-perf draws alignments above 8 for some requests; the raw ABI's `allocate` is 8-aligned, so every request here is 8-aligned."
    );
    if r.v8.is_some() {
        let _ = writeln!(
            w,
            "- In V8, growing a wasm memory counts as external memory and can start full GCs, so a timed run that grows memory pays for them: bump's, which never reuses memory (its V8 times vary a lot from round to round). The other allocators grow in the untimed replay before the timed ones."
        );
    }
    if notes.is_empty() {
        let _ = writeln!(w, "- Every cell was measured.");
    }
    for n in notes {
        let _ = writeln!(w, "- {n}");
    }
    s
}

// ------------------------------------------------------------------------------------------------
// SVG

const COLORS: [&str; 8] = [
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f", "#e377c2", "#bcbd22",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The value axis of a panel.
enum Axis {
    /// Logarithmic in `base`, spanning every value.
    Log(f64),
    /// Linear from `lo` to `hi` with a tick every `step`; a bar above `hi` is cut there and
    /// labelled with its value.
    Linear { lo: f64, hi: f64, step: f64 },
}

/// One panel of grouped bars. `values[group][series]`.
#[allow(clippy::too_many_arguments)]
fn panel(
    out: &mut String,
    y0: f64,
    height: f64,
    title: &str,
    groups: &[&str],
    series: usize,
    values: &[Vec<Option<f64>>],
    axis: Axis,
    fmt_tick: impl Fn(f64) -> String,
) {
    let (left, width) = (70.0, 880.0);
    let all: Vec<f64> = values
        .iter()
        .flatten()
        .flatten()
        .cloned()
        .filter(|v| *v > 0.0)
        .collect();
    if all.is_empty() {
        return;
    }
    // Axis position in [0, 1] of a value, the ticks, and the largest value a bar may reach.
    let (pos, ticks, cap): (Box<dyn Fn(f64) -> f64>, Vec<f64>, f64) = match axis {
        Axis::Log(base) => {
            let lo_v = all.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi_v = all.iter().cloned().fold(0.0, f64::max);
            // One step of margin below the smallest bar when it would be hard to see.
            let mut lo_e = lo_v.log(base).floor().min(0.0);
            if lo_v.log(base) - lo_e < 0.3 {
                lo_e -= 1.0;
            }
            let hi_e = hi_v.log(base).ceil().max(lo_e + 1.0);
            let ticks = (0..=(hi_e - lo_e).round() as i32)
                .map(|i| base.powf(lo_e + i as f64))
                .collect();
            (
                Box::new(move |v: f64| (v.log(base) - lo_e) / (hi_e - lo_e)),
                ticks,
                f64::INFINITY,
            )
        }
        Axis::Linear { lo, hi, step } => {
            let n = ((hi - lo) / step).round() as i32;
            let ticks = (0..=n).map(|i| lo + step * i as f64).collect();
            (
                Box::new(move |v: f64| (v.min(hi) - lo) / (hi - lo)),
                ticks,
                hi,
            )
        }
    };
    let y = |v: f64| y0 + height - pos(v) * height;
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        y0 - 12.0,
        esc(title)
    );
    for v in ticks {
        let yy = y(v);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="{}" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            left + width,
            if (v - 1.0).abs() < 1e-9 {
                "#444"
            } else {
                "#ddd"
            },
            left - 6.0,
            yy + 4.0,
            esc(&fmt_tick(v))
        );
    }
    let gw = width / groups.len() as f64;
    let bw = (gw - 14.0) / series as f64;
    for (g, name) in groups.iter().enumerate() {
        let gx = left + g as f64 * gw + 7.0;
        for (si, v) in values[g].iter().enumerate() {
            let x = gx + si as f64 * bw;
            match v {
                Some(v) if *v > 0.0 => {
                    let top = y(*v);
                    let _ = writeln!(
                        out,
                        r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                        bw - 1.0,
                        (y0 + height - top).max(0.5),
                        COLORS[si % COLORS.len()],
                        esc(&format!("{name}: {v:.3}"))
                    );
                    if *v > cap {
                        let _ = writeln!(
                            out,
                            r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{}</text>"#,
                            x + bw / 2.0,
                            top - 3.0,
                            esc(&if *v < 10.0 {
                                format!("{v:.1}")
                            } else {
                                format!("{v:.0}")
                            })
                        );
                    }
                }
                _ => {
                    let _ = writeln!(
                        out,
                        r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="{}">×</text>"##,
                        x + bw / 2.0,
                        y0 + height - 3.0,
                        COLORS[si % COLORS.len()]
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            gx + (gw - 14.0) / 2.0,
            y0 + height + 16.0,
            esc(name)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#000"/>"##,
        y0 + height,
        left + width,
        y0 + height
    );
}

pub fn svg(r: &Results) -> String {
    let names: Vec<&str> = r.allocs.iter().map(|a| a.name.as_str()).collect();
    let groups: Vec<&str> = r.traces.iter().map(|t| t.name).collect();
    let k = names.len();
    let time: Vec<Vec<Option<f64>>> = r
        .traces
        .iter()
        .map(|t| {
            (0..k)
                .map(|a| {
                    if a == 0 {
                        t.ratio(Clock::Wasmtime, 0).map(|_| 1.0)
                    } else {
                        t.ratio(Clock::Wasmtime, a).map(|x| 1.0 / x)
                    }
                })
                .collect()
        })
        .collect();
    let fuel: Vec<Vec<Option<f64>>> = r
        .traces
        .iter()
        .map(|t| (0..k).map(|a| fuel_per_op(t, a)).collect())
        .collect();
    let memory: Vec<Vec<Option<f64>>> = r
        .traces
        .iter()
        .map(|t| (0..k).map(|a| memory_per_live(t, a)).collect())
        .collect();
    let (w, h) = (980.0, 940.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    // legend
    for (i, n) in names.iter().enumerate() {
        let x = 70.0 + i as f64 * 130.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="14" width="14" height="14" fill="{}"/><text x="{}" y="26" font-size="13">{}</text>"#,
            COLORS[i % COLORS.len()],
            x + 20.0,
            esc(n)
        );
    }
    panel(
        &mut s,
        70.0,
        220.0,
        &format!(
            "Time per operation relative to {} (log scale; lower is faster; × = not measured)",
            names[0]
        ),
        &groups,
        k,
        &time,
        Axis::Log(2.0),
        |v| {
            if v >= 1.0 {
                format!("{v:.0}×")
            } else {
                format!("1/{:.0}", 1.0 / v)
            }
        },
    );
    panel(
        &mut s,
        370.0,
        220.0,
        "Allocator fuel (≈ wasm instructions) per operation, mean (log scale)",
        &groups,
        k,
        &fuel,
        Axis::Log(10.0),
        |v| format!("{v}"),
    );
    panel(
        &mut s,
        670.0,
        220.0,
        "Peak memory ÷ peak live requested bytes (lower is leaner; bars past 2.5 are cut, with their value)",
        &groups,
        k,
        &memory,
        Axis::Linear {
            lo: 1.0,
            hi: 2.5,
            step: 0.25,
        },
        |v| format!("{v:.2}"),
    );
    let _ = writeln!(s, "</svg>");
    s
}
