//! The wasmheap benchmark runner (issue #3). Run it through `scripts/bench`, which builds the
//! modules and passes their paths:
//!
//! ```text
//! bench [--quick] --alloc wasmheap=PATH --alloc talc=PATH ... [--c-module wasmheap=PATH]
//!       [--as-built NAME]... [--size-module NAME=PATH]... [--profile NAME=MANIFEST:PROFILE]...
//!       [--size-profile NAME=MANIFEST:PROFILE]... [--shipped PATH]
//!       [--no-c] [--recorder [TRACE=]PATH]... [--wasm-opt PATH] [--cache DIR] [--run-raw] [--out DIR]
//!       [--reps N] [--only TRACE,...] [--no-scaling] [--no-efficiency] [--meta TEXT]...
//!       [--node PATH] [--v8-dir DIR] [--no-v8] [--readme README.md]
//! ```
//!
//! The first `--alloc` is the subject (wasmheap); the others are its peers. Every module runs
//! after `wasm-opt -Oz --enable-bulk-memory` (the shipped wasmheap, as scripts/build makes it)
//! but those of the allocators named by `--as-built`, which run as cargo wrote them (the peers, as
//! a user's release build gives them). The size column is the `wasm-opt -Oz` output of
//! `--size-module NAME=PATH` (the peers' opt-level "z" build), or of the module run. `--profile`
//! and `--size-profile` name the cargo profiles that built them, which the report reads from the
//! manifest and states; `--shipped` the subject's checked-in module, which the report says the
//! bytes run are, or are not. For every trace and allocator it measures, in this order:
//!
//! 1. fuel: the whole trace replayed inside wasm by the generated driver on a fuel-metered
//!    engine (total fuel and memory size at the end), then replayed op by op from the host with
//!    fuel read around each call (allocator-only fuel per call: mean and maximum);
//! 2. time: the single driver call on an engine without fuel, in rounds that visit the
//!    allocators in a rotating order (A/B interleaved); medians, and the median of the paired
//!    ratios wasmheap ÷ peer;
//! 3. time in V8: the same modules, trace and rounds under Node (`--node`, default `node`;
//!    needs Node 22 or later) by `host-tests/bench/v8/time.mjs`, the modules and ops written to
//!    `--v8-dir`; `--no-v8` skips it;
//! 4. C alignment: fuel and memory as in 1, through C's `malloc`/`free`/`realloc` instead of the
//!    raw ABI, every returned pointer checked to be 16-aligned, by a second driver. The module is
//!    the allocator's own (the peers export the C names beside the raw ABI) or the one given by
//!    `--c-module NAME=PATH` (wasmheap's `c-api` flavor); not timed. `--no-c` skips it.
//!
//! Then talc's heap-efficiency measure (capped memory) and the scaling of the worst call with
//! the heap size. Results go to stdout, and with `--out DIR` to DIR/BENCHMARKS.md and
//! DIR/chart.svg; with `--readme PATH`, the headline figures also go into that README, between
//! its `<!-- bench:numbers -->` markers (`report/readme.rs`).

mod chart;
mod driver;
mod json;
mod options;
mod peers;
mod profile;
mod recorder;
mod replay;
mod report;
mod results;
mod rng;
mod runner;
mod session;
mod shared;
mod trace;
mod traces;
mod v8;
mod wasm_opt;

use anyhow::{Context, Result, bail};
use driver::Abi;
use options::Options;
use peers::{Alloc, SizeModule};
use profile::Profile;
use results::{Results, Shipped, TraceResult};
use runner::Bench;
use session::{Compiled, Engines};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trace::Trace;
use traces::Scale;
use v8::V8;

/// The heap sizes of the scaling measure.
const SCALING_HEAPS: [u64; 3] = [1 << 20, 16 << 20, 256 << 20];

fn main() -> Result<()> {
    let start = Instant::now();
    let mut opts = Options::parse(std::env::args().skip(1))?;
    let load_at_start = loadavg();
    let results = measure(&opts, start)?;
    opts.meta.push(format!(
        "load average (1 min) at start / end: {load_at_start} / {} on {} cores",
        loadavg(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    ));
    write_report(&opts, &results)?;
    log(format!("total {:.1?}", start.elapsed()));
    // The subject must never corrupt a block, trap or run out of memory where a peer did not:
    // that is a bug, and the exit status says so (after the report is written).
    let bad = results.subject_failures();
    if !bad.is_empty() {
        bail!("the subject failed:\n  {}", bad.join("\n  "));
    }
    Ok(())
}

/// Every measure the options ask for, on every allocator.
fn measure(opts: &Options, start: Instant) -> Result<Results> {
    let engines = Engines::new()?;
    let driver = Compiled::new(&engines, &driver::driver_wasm(Abi::Raw)).context("compile the driver")?;
    let c_driver = match opts.c_mode {
        true => Some(Compiled::new(&engines, &driver::driver_wasm(Abi::C)).context("compile the C driver")?),
        false => {
            log("--no-c: no C-alignment measure");
            None
        }
    };
    let allocs = load_allocs(opts, &engines)?;
    let v8 = start_v8(opts, &allocs)?;
    let bench = Bench { opts, engines: &engines, driver: &driver, c_driver: c_driver.as_ref(), allocs: &allocs };
    let shared = opts.shared.as_deref().map(shared::Shared::new).transpose().context("--shared")?;
    let (traces, shared_fuel) = run_traces(&bench, v8.as_ref(), shared.as_ref())?;
    let threads = match (&opts.shared, opts.v8) {
        (Some(path), true) => Some(shared::throughput(opts, path, &allocs[0])?),
        _ => None,
    };
    let shipped = opts.shipped.as_ref().map(|p| shipped(p, &allocs[0].bytes));
    let efficiency = opts.efficiency.then(|| bench.heap_efficiency());
    let scaling = opts.scaling.then(|| bench.scaling(&SCALING_HEAPS));
    Ok(Results {
        allocs,
        traces,
        efficiency: efficiency.unwrap_or_default(),
        scaling: scaling.unwrap_or_default(),
        scaling_heaps: SCALING_HEAPS.to_vec(),
        v8: v8.map(|v| (v.node_version, v.v8_version)),
        shipped,
        shared: shared_fuel,
        threads,
        elapsed: start.elapsed(),
    })
}

/// The subject's shipped module at `path`, compared with the bytes run (`subject`).
fn shipped(path: &Path, subject: &[u8]) -> Shipped {
    let bytes = std::fs::read(path).map_err(|e| format!("{e}"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shown = path
        .canonicalize()
        .ok()
        .zip(repo.canonicalize().ok())
        .and_then(|(p, r)| p.strip_prefix(r).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    Shipped {
        path: shown.display().to_string(),
        identical: bytes.as_deref().is_ok_and(|b| b == subject),
        size: bytes.map(|b| b.len() as u64),
    }
}

pub fn log(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

/// The 1-minute load average (the machine is shared: a high load makes wall times noisy).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

/// Every allocator's module (and the C-alignment measure's own modules, `--c-module`), run after
/// wasm-opt (unless `--as-built` names it, `--run-raw`, or no `--wasm-opt`), with the module of
/// its size column (`--size-module`) measured after wasm-opt, and the cargo profiles that built
/// them (`--profile`, `--size-profile`).
fn load_allocs(opts: &Options, engines: &Engines) -> Result<Vec<Alloc>> {
    let c_modules: &[(String, PathBuf)] = if opts.c_mode { &opts.c_modules } else { &[] };
    let run_opt = |name: &str| !opts.run_raw && !opts.runs_as_built(name);
    let size_path = |name: &str| opts.size_modules.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone());
    // What wasm-opt sees: the modules that run after it, and every size column's module.
    let mut wanted: Vec<PathBuf> = Vec::new();
    for (name, path) in &opts.allocs {
        if run_opt(name) {
            wanted.push(path.clone());
        }
        wanted.push(size_path(name).unwrap_or_else(|| path.clone()));
    }
    for (name, path) in c_modules {
        if run_opt(name) {
            wanted.push(path.clone());
        }
    }
    wanted.sort();
    wanted.dedup();
    let optimized: HashMap<PathBuf, Vec<u8>> = match &opts.wasm_opt {
        Some(tool) => {
            let t = Instant::now();
            let all = wasm_opt::optimize_all(tool, &wanted, &opts.cache)?;
            let flags = wasm_opt::WASM_OPT_FLAGS.join(" ");
            log(format!("wasm-opt {flags} on {} modules in {:.2?}", wanted.len(), t.elapsed()));
            wanted.into_iter().zip(all).collect()
        }
        None => HashMap::new(),
    };
    let run_bytes = |name: &str, path: &PathBuf| match run_opt(name) {
        true => optimized.get(path).cloned(),
        false => None,
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let profile = |list: &[(String, PathBuf, String)], name: &str| -> Result<Option<Profile>> {
        list.iter().find(|(n, _, _)| n == name).map(|(_, manifest, p)| Profile::read(manifest, p, &repo)).transpose()
    };
    let mut allocs = Vec::new();
    for (name, path) in &opts.allocs {
        let run_profile = profile(&opts.profiles, name)?;
        let size_module = size_path(name);
        let size_of = size_module.clone().unwrap_or_else(|| path.clone());
        let size = SizeModule {
            profile: match &size_module {
                Some(_) => profile(&opts.size_profiles, name)?,
                None => run_profile.clone(),
            },
            path: size_module,
            opt_size: optimized.get(&size_of).map(|o| o.len() as u64),
        };
        allocs.push(Alloc::load(engines, name, path, run_bytes(name, path), run_profile, size)?);
    }
    for (name, path) in c_modules {
        let a = allocs.iter_mut().find(|a| &a.name == name).expect("checked by Options");
        a.load_c(engines, path, run_bytes(name, path))?;
    }
    Ok(allocs)
}

/// Node, checked and given the modules, unless `--no-v8`.
fn start_v8(opts: &Options, allocs: &[Alloc]) -> Result<Option<V8>> {
    if !opts.v8 {
        log("--no-v8: no V8 timing");
        return Ok(None);
    }
    let v = V8::new(&opts.node, &opts.v8_dir, &driver::driver_wasm(Abi::Raw), allocs)?;
    let node = opts.node.display();
    log(format!("V8 timing: Node {} (V8 {}), {node}", v.node_version, v.v8_version));
    Ok(Some(v))
}

/// A trace's name and how to make it (a recorded one runs a program, and can fail).
type Maker<'a> = (&'static str, Box<dyn Fn() -> Result<Trace> + 'a>);

/// The traces, in the report's order.
fn trace_makers<'a>(bench: &'a Bench, scale: &'a Scale) -> Vec<Maker<'a>> {
    let mut makers: Vec<Maker> = vec![
        ("small", Box::new(|| Ok(traces::small(scale)))),
        ("mixed", Box::new(|| Ok(traces::mixed(scale)))),
        ("lifo", Box::new(|| Ok(traces::lifo(scale)))),
        ("realloc-grow", Box::new(|| Ok(traces::realloc_grow(scale)))),
        ("fragment", Box::new(|| Ok(traces::fragment(scale)))),
    ];
    for program in &recorder::PROGRAMS {
        match bench.opts.recorders.iter().find(|(n, _)| n == program.trace) {
            Some((_, path)) => {
                let quick = scale.quick;
                makers.push((program.trace, Box::new(move || recorder::record(bench.engines, program, path, quick))));
            }
            None => log(format!("no --recorder {}=PATH: skipping that trace", program.trace)),
        }
    }
    makers.push(("talc-perf", Box::new(|| Ok(traces::talc_perf(scale, true)))));
    makers.push(("talc-perf-norealloc", Box::new(|| Ok(traces::talc_perf(scale, false)))));
    makers
}

/// Every trace (or those of `--only`), made and then measured; with `--shared`, the shared
/// flavor's fuel per call on each.
type SharedFuel = Vec<(&'static str, replay::PerCall)>;
fn run_traces(
    bench: &Bench,
    v8: Option<&V8>,
    shared: Option<&shared::Shared>,
) -> Result<(Vec<TraceResult>, SharedFuel)> {
    let scale = Scale { quick: bench.opts.quick };
    let mut results = Vec::new();
    let mut shared_fuel = Vec::new();
    for (name, make) in trace_makers(bench, &scale) {
        if !bench.opts.wants(name) {
            continue;
        }
        let t = Instant::now();
        let trace = make()?;
        log(format!(
            "trace {:<20} {:>8} ops, peak {} live bytes in {} blocks (generated in {:.2?})",
            trace.name,
            trace.ops.len(),
            trace.peak_live_bytes,
            trace.peak_live_blocks,
            t.elapsed()
        ));
        let mut tr = bench.measure_trace(&trace)?;
        if recorder::program(trace.name).is_some() {
            tr.profile = Some(recorder::profile(&trace));
        }
        if let Some(v8) = v8 {
            bench.time_in_v8(v8, &trace, &mut tr)?;
        }
        if let Some(s) = shared {
            shared_fuel.push((trace.name, s.per_call(&trace)?));
        }
        results.push(tr);
    }
    Ok((results, shared_fuel))
}

/// The report to stdout, and with `--out` to DIR/BENCHMARKS.md and DIR/chart.svg.
fn write_report(opts: &Options, results: &Results) -> Result<()> {
    let md = report::markdown(opts, results);
    println!("{md}");
    if let Some(out) = &opts.out {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("BENCHMARKS.md"), &md)?;
        std::fs::write(out.join("chart.svg"), chart::svg(results))?;
        log(format!("wrote {}/BENCHMARKS.md and chart.svg", out.display()));
    }
    if let Some(path) = &opts.readme {
        let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let text = report::readme::splice(&text, &report::readme::numbers(opts, results))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        std::fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
        log(format!("wrote the numbers block of {}", path.display()));
    }
    Ok(())
}
