//! The report's prose: the title and the facts of the run, how it measures, and what it could not
//! measure.

use crate::driver::C_ALIGN;
use crate::options::Options;
use crate::peers::{Alloc, Build};
use crate::results::Results;
use std::fmt::{self, Write};
use std::time::Duration;

/// The title, what wrote the file, the facts of the run (mode, versions, machine) and the chart.
pub fn title_and_facts(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    let subject = r.allocs[0].name.as_str();
    writeln!(w, "# wasmheap benchmarks\n")?;
    writeln!(
        w,
        "Written by `scripts/bench{}` — do not edit by hand; run it again. Every number below was \
         measured in that run; nothing is copied from elsewhere.\n",
        if opts.quick { " --quick" } else { "" }
    )?;
    writeln!(w, "- mode: **{}** ({} timed rounds)", if opts.quick { "quick" } else { "full" }, opts.effort.reps)?;
    for m in &opts.meta {
        writeln!(w, "- {m}")?;
    }
    writeln!(w, "- machine: {}", machine())?;
    writeln!(
        w,
        "- runtime: wasmtime 48 (Cranelift), fuel metering for instruction counts, a second engine without fuel for time"
    )?;
    writeln!(w, "- {}", v8_meta(r))?;
    writeln!(w, "- modules run: {}", modules_run(r))?;
    if let Some(s) = &r.shipped {
        let subject = &r.allocs[0];
        let run = subject.bytes.len();
        let fact = match (&s.size, s.identical) {
            (Ok(n), true) => format!("byte for byte the checked-in `{}` ({n} bytes)", s.path),
            (Ok(n), false) => format!(
                "not the checked-in `{}` ({run} bytes run, {n} checked in: the source or the build differs from the last scripts/build)",
                s.path
            ),
            (Err(e), _) => format!("not compared with `{}` ({e})", s.path),
        };
        writeln!(w, "- {}'s module run: {fact}", subject.label)?;
    }
    writeln!(w, "- the whole run took {:.0} s\n", r.elapsed.as_secs_f64())?;
    writeln!(w, "![time per operation relative to {subject}, and fuel per operation](chart.svg)\n")?;
    Ok(())
}

/// How each figure is measured.
pub fn method(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    let subject = r.allocs[0].name.as_str();
    writeln!(w, "## How it is measured\n")?;
    writeln!(
        w,
        "- Every allocator is a wasm module with the same raw ABI (`allocate`, `deallocate`, `reallocate`, `memory`; all `i32`). The peers are small `#![no_std]` wrapper crates in `host-tests/bench/peers/`, built for wasm32-unknown-unknown with `-zstack-size=8192` (wasmheap's stack). `GlobalAlloc` needs the size at free, so **each peer block carries an 8-byte header** in the wrapper (the requested size; 8 bytes keep 8-byte alignment): peers pay 8 bytes per block and a few instructions per call for it. {subject} runs as it ships, with no wrapper.{global}",
        global = match r.allocs.iter().find(|a| a.name == "wasmheap-global") {
            Some(g) => format!(
                " **{}** is the same crate as a Rust program's `#[global_allocator]`, built as the peers are and behind their wrapper, so that what the wrapper and the build cost can be told from what the allocator costs.",
                g.label
            ),
            None => String::new(),
        }
    )?;
    builds(w, r)?;
    writeln!(
        w,
        "- Traces are seeded and deterministic lists of (op, slot, size). A driver module generated with `wasm-encoder` imports the allocator's functions and memory, keeps the op list and its slot table in a second memory of its own (multi-memory), and replays the list inside wasm. It writes the first and last word of every block (bytes below 4 B) with a per-slot tag and checks them before free and realloc, and the first word after realloc; a mismatch traps."
    )?;
    writeln!(
        w,
        "- **fuel/op**: wasmtime fuel (one unit per wasm instruction, plus — in wasmtime 48's default cost table — one per byte moved by `memory.copy`/`memory.fill`, so a realloc that moves a block is charged for its copy) spent inside the allocator's exports, from a replay op by op from the host with fuel read around each call; mean over all ops. **max**: the largest single call (by kind: alloc / free / realloc). The whole in-wasm replay's fuel minus these calls is the driver's own work, identical for every allocator (checked), shown per trace below. **reallocs moved**: the share of reallocations that returned a new address, and the bytes each such move had to keep (the smaller of the old and new size), so that the copy's part of the realloc fuel can be told from the allocator's own work."
    )?;
    writeln!(
        w,
        "- **ns/op**: wall time of the single in-wasm replay call ÷ ops, on an engine without fuel, median of the rounds. Each run is a fresh instance that replays the trace once untimed (growing the memory and faulting its pages in; every trace ends with all blocks freed) and then timed, so that the figure is the allocator's work rather than the kernel's — except for bump, which never reuses memory. A trace whose replay takes under 0.3 s is timed 3 times back to back in that instance and the fastest counts (this filters out preemption on a shared machine). Rounds visit the allocators in a rotating order, so that A and B alternate. **{subject} ÷ peer**: median over rounds of the paired ratio (< 1: {subject} is faster). An allocator whose run takes over {:.1} s is timed once.",
        opts.effort.slow.as_secs_f64()
    )?;
    if r.v8.is_some() {
        writeln!(
            w,
            "- **Time in V8**: the same driver and allocator modules (the bytes timed in wasmtime), the same traces, rounds and rules, run by `{}` under Node: every run a fresh allocator instance with a fresh driver instance linked to it, one untimed replay, then the fastest of 3 timed replays (`process.hrtime.bigint()`), rotating order, paired ratios. A warm-up comes first (a fresh instance per allocator replays the trace once, untimed) so that V8's tiering (Liftoff first, TurboFan for hot functions, as in a browser) has settled, and a full GC after each run (untimed) frees its memories as dropping the wasmtime store does.",
            crate::v8::SCRIPT_NAME
        )?;
    }
    writeln!(
        w,
        "- **memory ÷ peak live**: the memory size at the end (wasm memory never shrinks, so it is the peak) ÷ the trace's peak of live requested bytes. It includes each module's static data and 8 KiB stack."
    )?;
    if r.c_measured() {
        c_method(w, r)?;
    }
    writeln!(
        w,
        "- Wall times come from a shared 2-core machine; treat differences under ~10 % as noise. Fuel counts are exact and repeatable.\n"
    )?;
    Ok(())
}

/// How each allocator's modules are built: a line per build (profile, wasm-opt or not) with the
/// allocators that share it, for the modules measured and for the size column.
fn builds(w: &mut String, r: &Results) -> fmt::Result {
    writeln!(
        w,
        "- **How each allocator is built** (the profiles as the runner read them from the manifests that scripts/bench names; `-zstack-size=8192` for all):"
    )?;
    let labels = |v: &[&Alloc]| v.iter().map(|a| a.label.as_str()).collect::<Vec<_>>().join(", ");
    // An allocator whose size column is the module it runs is named once, on its run's line.
    let own_size = |a: &Alloc| a.size.path.is_some() || !a.ran_opt;
    for (b, allocs) in groups(r, |_| true, Alloc::build) {
        let and_size = match allocs.iter().any(|a| own_size(a)) {
            true => "",
            false => ", and the size column,",
        };
        writeln!(w, "  - fuel, memory and time{and_size} of {}: {}", labels(&allocs), describe(&b))?;
    }
    for (b, allocs) in groups(r, own_size, Alloc::size_build) {
        writeln!(w, "  - the size column of {}: {}", labels(&allocs), describe(&b))?;
    }
    if r.allocs.iter().any(|a| !a.ran_opt) {
        writeln!(
            w,
            "  - Why some modules run without wasm-opt: a program that picks one of these allocators gets it compiled into its own `cargo build --release` (opt-level 3 unless the program says otherwise), and a release build does not run `wasm-opt -Oz` on its allocator; so these modules are measured as cargo writes them. The shipped {} is what scripts/build makes: its profile, then `wasm-opt -Oz`. Only the size column is an opt-level \"z\" build, after `wasm-opt -Oz`, to compare what each allocator can weigh at least.",
            r.allocs[0].label
        )?;
    }
    Ok(())
}

/// The allocators that pass `keep`, grouped by their build `of`, in the order they come.
fn groups<'r>(
    r: &'r Results,
    keep: impl Fn(&Alloc) -> bool,
    of: impl Fn(&'r Alloc) -> Build<'r>,
) -> Vec<(Build<'r>, Vec<&'r Alloc>)> {
    let mut groups: Vec<(Build, Vec<&Alloc>)> = Vec::new();
    for a in r.allocs.iter().filter(|a| keep(a)) {
        let b = of(a);
        match groups.iter_mut().find(|(g, _)| *g == b) {
            Some((_, allocs)) => allocs.push(a),
            None => groups.push((b, vec![a])),
        }
    }
    groups
}

/// A build in full: its profile's settings, then what ran on cargo's output.
fn describe(b: &Build) -> String {
    let profile = b.profile.map(|p| p.describe()).unwrap_or_else(|| "profile not given to the runner".into());
    match b.wasm_opt {
        true => format!("{profile}; then `wasm-opt {}`", crate::wasm_opt::WASM_OPT_FLAGS.join(" ")),
        false => format!("{profile}; run as cargo writes it (no wasm-opt)"),
    }
}

/// The facts line on the modules run: after wasm-opt, or as cargo wrote them, by allocator.
fn modules_run(r: &Results) -> String {
    let (opt, raw): (Vec<&Alloc>, Vec<&Alloc>) = r.allocs.iter().partition(|a| a.ran_opt);
    let labels = |v: &[&Alloc]| v.iter().map(|a| a.label.as_str()).collect::<Vec<_>>().join(", ");
    let after = format!("after `wasm-opt {}`", crate::wasm_opt::WASM_OPT_FLAGS.join(" "));
    match (opt.is_empty(), raw.is_empty()) {
        (false, true) => format!("{after} (all alike)"),
        (true, _) => "as cargo wrote them".into(),
        (false, false) => {
            format!("{} {after}; {} as cargo wrote them (see How each allocator is built)", labels(&opt), labels(&raw))
        }
    }
}

/// How the C-alignment measure works.
fn c_method(w: &mut String, r: &Results) -> fmt::Result {
    let own: Vec<&str> = r.allocs.iter().filter(|a| a.c.is_some()).map(|a| a.name.as_str()).collect();
    let modules = if own.len() == r.allocs.len() {
        "Each allocator runs a module of its own for it (the table under Allocators), so that the raw ABI's modules and figures stay exactly as they are:".to_string()
    } else if own.is_empty() {
        "Each allocator runs the C exports of its own module:".to_string()
    } else {
        format!(
            "{} run a module of their own for it (the table under Allocators), the others the C exports of their own module:",
            own.join(", ")
        )
    };
    writeln!(
        w,
        "- **C alignment** (the two \"C alignment\" tables): the same traces replayed through C's `malloc`, `free` and `realloc` instead of the raw ABI, as a C program compiled to wasm calls them, so that every block is {align}-aligned (`alignof(max_align_t)` on wasm32). {modules} wasmheap's C module is built with `--features module,c-api` (the features of scripts/build's `wasm/wasmheap-c.wasm`; its `malloc` and `realloc` size blocks in multiples of 16 with 16-aligned payloads, as dlmalloc does); each peer's (and {global}'s) is its crate built again with `peer-abi`'s feature `c` and the same profile, run as its raw module is, whose wrapper exports the three C names beside the raw ABI over the same `GlobalAlloc`, with a **{align}-byte header** and `Layout {{ size + {align}, align {align} }}`, so that the pointer handed out is {align}-aligned (peers pay {align} bytes per block here). A second driver, the same as the first but for its imports and one check, traps if `malloc` or `realloc` returns a pointer that is not {align}-aligned, and the op-by-op replay from the host fails on one too. **fuel/op** and **memory ÷ peak live** are measured as for the raw ABI; these replays are not timed.",
        align = C_ALIGN,
        global = r
            .allocs
            .iter()
            .find(|a| a.name == "wasmheap-global")
            .map_or("wasmheap's global allocator", |a| a.label.as_str())
    )
}

/// What holds for every run, then each cell that was not measured (or timed fewer times).
pub fn gaps(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    let notes = cell_notes(opts, r);
    writeln!(w, "## Gaps and caveats\n")?;
    writeln!(
        w,
        "- Every peer in the issue built on this toolchain (rustc 1.95, wasm32-unknown-unknown). talc is version 5, whose documented wasm setup is `talc::wasm::new_wasm_dynamic_allocator()`; the `Talck`/`WasmHandler` names belong to talc 4."
    )?;
    writeln!(
        w,
        "- talc's wasm-perf draws alignments above 8 for some requests; the raw ABI's `allocate` is 8-aligned, so every request here is 8-aligned."
    )?;
    if r.allocs.iter().any(|a| !a.ran_opt) {
        writeln!(
            w,
            "- The modules that run as cargo wrote them are what a plain `cargo build --release` gives; a program built with a bundler that runs wasm-opt over the whole program (wasm-pack runs `wasm-opt -O` by default) gets them optimized once more. That build is not measured here."
        )?;
    }
    if r.c_measured() {
        writeln!(
            w,
            "- The C-alignment replays measure fuel and memory only: they are not timed, in wasmtime or in V8."
        )?;
        if r.allocs.iter().any(|a| a.name == "dlmalloc") {
            writeln!(
                w,
                "- dlmalloc-rs 0.2 aligns to 8 on wasm32 (`malloc_alignment()` is 2 × `usize`): its `GlobalDlmalloc` serves a 16-aligned `Layout` through `memalign`, and reallocates such a block by allocating, copying and freeing, never in place. The dlmalloc column of the C-alignment tables is dlmalloc-rs behind a 16-aligned wrapper, not wasi-libc's dlmalloc, whose `malloc` is 16-aligned natively."
            )?;
        }
    }
    if r.v8.is_some() {
        writeln!(
            w,
            "- In V8, growing a wasm memory counts as external memory and can start full GCs, so a timed run that grows memory pays for them: bump's, which never reuses memory (its V8 times vary a lot from round to round). The other allocators grow in the untimed replay before the timed ones."
        )?;
    }
    if notes.is_empty() {
        writeln!(w, "- Every cell was measured.")?;
    }
    for n in notes {
        writeln!(w, "- {n}")?;
    }
    Ok(())
}

/// A note for each cell that was not measured, or was timed fewer times than asked (slow).
fn cell_notes(opts: &Options, r: &Results) -> Vec<String> {
    let names = r.names();
    let reps = opts.effort.reps;
    let timed_less = |times: &[Duration]| !times.is_empty() && times.len() < reps;
    let mut notes = Vec::new();
    for t in &r.traces {
        for (a, (c, name)) in t.cells.iter().zip(&names).enumerate() {
            let at = format!("{name} on `{}`", t.name);
            if !c.ok() {
                notes.push(format!("{at}: {}", c.status));
            } else if timed_less(&c.times) {
                notes.push(format!("{at}: timed {} time(s) only (slow)", c.times.len()));
            }
            if let Some(c) = t.c_cells.get(a).filter(|c| !c.ok()) {
                notes.push(format!("{at} (C alignment): {}", c.status));
            }
            if let Some(e) = &c.v8_error {
                notes.push(format!("{at} in V8: {e}"));
            } else if r.v8.is_some() && timed_less(&c.v8_times) {
                notes.push(format!("{at} in V8: timed {} time(s) only (slow)", c.v8_times.len()));
            }
        }
    }
    notes
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
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}
