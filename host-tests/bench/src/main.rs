//! The wasmheap benchmark runner (issue #3). Run it through `scripts/bench`, which builds the
//! modules and passes their paths:
//!
//! ```text
//! bench [--quick] --alloc wasmheap=PATH --alloc talc=PATH ... [--recorder PATH]
//!       [--wasm-opt PATH] [--cache DIR] [--run-raw] [--out DIR] [--reps N] [--only TRACE,...]
//!       [--no-scaling] [--no-efficiency] [--meta TEXT]... [--node PATH] [--v8-dir DIR] [--no-v8]
//! ```
//!
//! The first `--alloc` is the subject (wasmheap); the others are its peers. For every trace and
//! allocator it measures, in this order:
//!
//! 1. fuel: the whole trace replayed inside wasm by the generated driver on a fuel-metered
//!    engine (total fuel and memory size at the end), then replayed op by op from the host with
//!    fuel read around each call (allocator-only fuel per call: mean and maximum);
//! 2. time: the single driver call on an engine without fuel, in rounds that visit the
//!    allocators in a rotating order (A/B interleaved); medians, and the median of the paired
//!    ratios wasmheap ÷ peer;
//! 3. time in V8: the same modules, trace and rounds under Node (`--node`, default `node`;
//!    needs Node 22 or later) by `host-tests/bench/v8/time.mjs`, the modules and ops written to
//!    `--v8-dir`; `--no-v8` skips it.
//!
//! Then talc's heap-efficiency measure (capped memory) and the scaling of the worst call with
//! the heap size. Results go to stdout, and with `--out DIR` to DIR/BENCHMARKS.md and
//! DIR/chart.svg.

mod driver;
mod peers;
mod report;
mod traces;
mod v8;

use anyhow::{Context, Result, bail};
use driver::{Compiled, Engines, PerCall, Replay, Session};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use traces::{Scale, Trace};
use v8::V8;

pub struct Options {
    pub quick: bool,
    allocs: Vec<(String, PathBuf)>,
    recorder: Option<PathBuf>,
    wasm_opt: Option<PathBuf>,
    run_raw: bool,
    out: Option<PathBuf>,
    /// Where `wasm-opt` outputs are cached.
    cache: PathBuf,
    pub reps: usize,
    only: Option<Vec<String>>,
    scaling: bool,
    efficiency: bool,
    pub meta: Vec<String>,
    /// Node for the V8 timing, unless `--no-v8` (whatever the order of the two flags).
    node: PathBuf,
    v8: bool,
    /// Where the modules and traces for Node are written.
    v8_dir: PathBuf,
    /// Fuel budget of one whole-trace replay; past it the cell reads "over budget".
    pub budget: u64,
    /// An allocator whose timed run takes longer than this is timed once only.
    pub slow: Duration,
    pub he_cap: usize,
    pub he_trials: u64,
    pub scaling_ops: usize,
    pub scaling_budget: u64,
}

fn parse_args() -> Result<Options> {
    let mut o = Options {
        quick: false,
        allocs: Vec::new(),
        recorder: None,
        wasm_opt: None,
        run_raw: false,
        out: None,
        cache: std::env::temp_dir().join("wasmheap-bench-cache"),
        reps: 0,
        only: None,
        scaling: true,
        efficiency: true,
        meta: Vec::new(),
        node: "node".into(),
        v8: true,
        v8_dir: std::env::temp_dir().join("wasmheap-bench-v8"),
        budget: 0,
        slow: Duration::ZERO,
        he_cap: 0,
        he_trials: 0,
        scaling_ops: 0,
        scaling_budget: 0,
    };
    let mut args = std::env::args().skip(1);
    let mut reps = None;
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--quick" => o.quick = true,
            "--alloc" => {
                let v = val()?;
                let (name, path) = v.split_once('=').context("--alloc NAME=PATH")?;
                o.allocs.push((name.to_string(), PathBuf::from(path)));
            }
            "--recorder" => o.recorder = Some(val()?.into()),
            "--wasm-opt" => o.wasm_opt = Some(val()?.into()),
            "--run-raw" => o.run_raw = true,
            "--out" => o.out = Some(val()?.into()),
            "--cache" => o.cache = val()?.into(),
            "--reps" => reps = Some(val()?.parse()?),
            "--only" => o.only = Some(val()?.split(',').map(String::from).collect()),
            "--no-scaling" => o.scaling = false,
            "--no-efficiency" => o.efficiency = false,
            "--meta" => o.meta.push(val()?),
            "--node" => o.node = val()?.into(),
            "--v8-dir" => o.v8_dir = val()?.into(),
            "--no-v8" => o.v8 = false,
            "-h" | "--help" => {
                println!(
                    "see the doc comment of host-tests/bench/src/main.rs, or scripts/bench --help"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if o.allocs.is_empty() {
        bail!("no --alloc given (scripts/bench passes them)");
    }
    if o.quick {
        o.reps = reps.unwrap_or(5);
        o.budget = 3_000_000_000;
        o.slow = Duration::from_millis(1500);
        o.he_cap = 8 << 20;
        o.he_trials = 5;
        o.scaling_ops = 300;
        o.scaling_budget = 3_000_000_000;
    } else {
        o.reps = reps.unwrap_or(7);
        o.budget = 40_000_000_000;
        o.slow = Duration::from_secs(5);
        o.he_cap = 32 << 20;
        o.he_trials = 30;
        o.scaling_ops = 3000;
        o.scaling_budget = 40_000_000_000;
    }
    Ok(o)
}

/// Everything measured for one allocator on one trace.
#[derive(Default)]
pub struct Cell {
    pub status: Status,
    /// Fuel of the whole in-wasm replay (driver included).
    pub replay_fuel: u64,
    /// Memory size in bytes at the end.
    pub memory: usize,
    pub per_call: Option<PerCall>,
    /// Timed runs in wasmtime and in V8.
    pub times: Vec<Duration>,
    pub v8_times: Vec<Duration>,
    /// Why the V8 timing failed, if it did.
    pub v8_error: Option<String>,
}

/// Which runtime's wall times.
#[derive(Clone, Copy, PartialEq)]
pub enum Clock {
    Wasmtime,
    V8,
}

impl Cell {
    pub fn times(&self, c: Clock) -> &[Duration] {
        match c {
            Clock::Wasmtime => &self.times,
            Clock::V8 => &self.v8_times,
        }
    }
}

#[derive(Default, Clone, PartialEq)]
pub enum Status {
    #[default]
    Ok,
    Failed(u32),
    OverBudget(u64),
    Error(String),
}

pub struct TraceResult {
    pub name: &'static str,
    pub desc: String,
    pub ops: usize,
    pub counts: [u64; 3],
    pub peak_live_bytes: u64,
    pub peak_live_blocks: u64,
    /// Driver fuel per op (whole replay minus the allocator's calls), when it could be taken.
    pub driver_per_op: Option<f64>,
    pub cells: Vec<Cell>,
}

impl TraceResult {
    pub fn median_time(&self, c: Clock, a: usize) -> Option<Duration> {
        median_dur(self.cells[a].times(c))
    }

    /// Median over rounds of `time(0) / time(a)` (subject ÷ allocator `a`), paired by round.
    pub fn ratio(&self, c: Clock, a: usize) -> Option<f64> {
        let (x, y) = (self.cells[0].times(c), self.cells[a].times(c));
        let mut r: Vec<f64> = x
            .iter()
            .zip(y)
            .map(|(p, q)| p.as_secs_f64() / q.as_secs_f64())
            .collect();
        median(&mut r)
    }
}

pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn median_dur(v: &[Duration]) -> Option<Duration> {
    let mut s: Vec<f64> = v.iter().map(|d| d.as_secs_f64()).collect();
    median(&mut s).map(Duration::from_secs_f64)
}

pub struct Efficiency {
    /// Share of the cap in live requested bytes at the first failure, per trial.
    pub shares: Vec<f64>,
    pub error: Option<String>,
}

pub struct ScalingCell {
    pub heap: u64,
    pub result: Result<(PerCall, usize), String>,
}

pub struct Results {
    pub allocs: Vec<peers::Alloc>,
    pub traces: Vec<TraceResult>,
    pub efficiency: Vec<Efficiency>,
    pub scaling: Vec<Vec<ScalingCell>>,
    pub scaling_heaps: Vec<u64>,
    /// Node's and V8's versions, when V8 timed the traces.
    pub v8: Option<(String, String)>,
    pub elapsed: Duration,
}

fn log(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

/// The 1-minute load average (the machine is shared: a high load makes wall times noisy).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

fn main() -> Result<()> {
    let start = Instant::now();
    let mut opts = parse_args()?;
    let load_start = loadavg();
    let engines = Engines::new()?;

    let driver = Compiled::new(&engines, &driver::driver_wasm()).context("compile the driver")?;
    let raws: Vec<PathBuf> = opts.allocs.iter().map(|(_, p)| p.clone()).collect();
    let mut opt: Vec<Option<Vec<u8>>> = match &opts.wasm_opt {
        Some(tool) => {
            let t = Instant::now();
            let o = peers::optimize_all(tool, &raws, &opts.cache)?;
            log(format!(
                "wasm-opt {} in {:.2?}",
                peers::WASM_OPT_FLAGS.join(" "),
                t.elapsed()
            ));
            o.into_iter().map(Some).collect()
        }
        None => vec![None; raws.len()],
    };
    let mut allocs = Vec::new();
    for (i, (name, path)) in opts.allocs.iter().enumerate() {
        allocs.push(peers::Alloc::load(
            &engines,
            name,
            path,
            opt[i].take(),
            opts.run_raw,
        )?);
    }

    let v8 = if opts.v8 {
        let v = V8::new(&opts.node, &opts.v8_dir, &driver::driver_wasm(), &allocs)?;
        log(format!(
            "V8 timing: Node {} (V8 {}), {}",
            v.node_version,
            v.v8_version,
            opts.node.display()
        ));
        Some(v)
    } else {
        log("--no-v8: no V8 timing");
        None
    };

    // --- traces ---------------------------------------------------------------------------------
    let scale = Scale { quick: opts.quick };
    type Maker<'a> = Box<dyn Fn() -> Result<Trace> + 'a>;
    let mut makers: Vec<(&str, Maker)> = vec![
        ("small", Box::new(|| Ok(traces::small(&scale)))),
        ("mixed", Box::new(|| Ok(traces::mixed(&scale)))),
        ("lifo", Box::new(|| Ok(traces::lifo(&scale)))),
        (
            "realloc-grow",
            Box::new(|| Ok(traces::realloc_grow(&scale))),
        ),
        ("fragment", Box::new(|| Ok(traces::fragment(&scale)))),
    ];
    if let Some(rec) = &opts.recorder {
        let rounds = if opts.quick { 8 } else { 100 };
        let engines = &engines;
        makers.push((
            "recorded",
            Box::new(move || peers::record(engines, rec, rounds)),
        ));
    } else {
        log("no --recorder: skipping the recorded trace");
    }
    makers.push((
        "talc-perf",
        Box::new(|| Ok(traces::talc_perf(&scale, true))),
    ));
    makers.push((
        "talc-perf-norealloc",
        Box::new(|| Ok(traces::talc_perf(&scale, false))),
    ));

    let mut results = Vec::new();
    for (name, make) in &makers {
        if let Some(only) = &opts.only
            && !only.iter().any(|o| o == name)
        {
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
        let mut tr = bench_trace(&opts, &engines, &driver, &allocs, &trace)?;
        if let Some(v8) = &v8 {
            time_in_v8(&opts, v8, &allocs, &trace, &mut tr)?;
        }
        results.push(tr);
    }

    // --- heap efficiency ------------------------------------------------------------------------
    let mut efficiency = Vec::new();
    if opts.efficiency {
        let t = Instant::now();
        let trials: Vec<Trace> = (0..opts.he_trials)
            .map(|s| traces::heap_efficiency(s, opts.he_cap as u64))
            .collect();
        for a in &allocs {
            efficiency.push(heap_efficiency(&opts, &engines, &driver, a, &trials));
        }
        log(format!("heap efficiency done in {:.2?}", t.elapsed()));
    }

    // --- scaling --------------------------------------------------------------------------------
    let heaps: Vec<u64> = vec![1 << 20, 16 << 20, 256 << 20];
    let mut scaling = Vec::new();
    if opts.scaling {
        let t = Instant::now();
        for a in &allocs {
            let mut row = Vec::new();
            for &heap in &heaps {
                let r = scaling_cell(&opts, &engines, &driver, a, heap);
                match &r {
                    Ok((pc, _)) => log(format!(
                        "scaling {:<10} {:>4} MiB: max {} fuel/call, mean {:.0}",
                        a.name,
                        heap >> 20,
                        pc.max(),
                        pc.total() as f64 / pc.ops() as f64
                    )),
                    Err(e) => log(format!("scaling {:<10} {:>4} MiB: {e}", a.name, heap >> 20)),
                }
                row.push(ScalingCell { heap, result: r });
            }
            scaling.push(row);
        }
        log(format!("scaling done in {:.2?}", t.elapsed()));
    }

    let res = Results {
        allocs,
        traces: results,
        efficiency,
        scaling,
        scaling_heaps: heaps,
        v8: v8.map(|v| (v.node_version, v.v8_version)),
        elapsed: start.elapsed(),
    };
    opts.meta.push(format!(
        "load average (1 min) at start / end: {load_start} / {} on {} cores",
        loadavg(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    ));
    let md = report::markdown(&opts, &res);
    println!("{md}");
    if let Some(out) = &opts.out {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("BENCHMARKS.md"), &md)?;
        std::fs::write(out.join("chart.svg"), report::svg(&res))?;
        log(format!(
            "wrote {}/BENCHMARKS.md and chart.svg",
            out.display()
        ));
    }
    log(format!("total {:.1?}", start.elapsed()));
    // The subject must never corrupt a block, trap or run out of memory where a peer did not:
    // that is a bug, and the exit status says so (after the report is written).
    let mut bad = Vec::new();
    for t in &res.traces {
        if t.cells[0].status != Status::Ok {
            let why = report::status_text(&t.cells[0].status);
            bad.push(format!("{} on {}: {why}", res.allocs[0].name, t.name));
        }
        if let Some(e) = &t.cells[0].v8_error {
            bad.push(format!("{} on {} in V8: {e}", res.allocs[0].name, t.name));
        }
    }
    if let Some(Efficiency { error: Some(e), .. }) = res.efficiency.first() {
        bad.push(format!("{} in heap efficiency: {e}", res.allocs[0].name));
    }
    if let Some(row) = res.scaling.first() {
        for c in row {
            if let Err(e) = &c.result {
                bad.push(format!(
                    "{} in scaling at {} MiB: {e}",
                    res.allocs[0].name,
                    c.heap >> 20
                ));
            }
        }
    }
    if !bad.is_empty() {
        bail!("the subject failed:\n  {}", bad.join("\n  "));
    }
    Ok(())
}

fn bench_trace(
    opts: &Options,
    engines: &Engines,
    driver: &Compiled,
    allocs: &[peers::Alloc],
    trace: &Trace,
) -> Result<TraceResult> {
    let n = trace.ops.len();
    let mut cells: Vec<Cell> = Vec::new();
    // 1. fuel
    for a in allocs {
        let t = Instant::now();
        let mut cell = Cell::default();
        match driver::replay_fuel(engines, &a.compiled, driver, trace, opts.budget) {
            Ok(Replay::Done { fuel, memory }) => {
                cell.replay_fuel = fuel;
                cell.memory = memory;
                match driver::replay_per_call(engines, &a.compiled, trace) {
                    Ok(pc) => cell.per_call = Some(pc),
                    Err(e) => cell.status = Status::Error(format!("host replay: {e:#}")),
                }
            }
            Ok(Replay::Failed { at }) => cell.status = Status::Failed(at),
            Ok(Replay::OverBudget) => cell.status = Status::OverBudget(opts.budget),
            Err(e) => cell.status = Status::Error(format!("{e:#}")),
        }
        log(format!(
            "  fuel {:<10} {}",
            a.name,
            match (&cell.status, &cell.per_call) {
                (Status::Ok, Some(pc)) => format!(
                    "{:.1} fuel/op (max {}), replay {:.1}/op, memory {} KiB ({:.2?})",
                    pc.total() as f64 / n as f64,
                    pc.max(),
                    cell.replay_fuel as f64 / n as f64,
                    cell.memory >> 10,
                    t.elapsed()
                ),
                (s, _) => report::status_text(s),
            }
        ));
        cells.push(cell);
    }
    // The driver's own fuel: the same for every allocator (it depends on the trace only).
    let overheads: Vec<u64> = cells
        .iter()
        .filter_map(|c| c.per_call.as_ref().map(|pc| c.replay_fuel - pc.total()))
        .collect();
    let driver_per_op = overheads.first().map(|&o| o as f64 / n as f64);
    if overheads.windows(2).any(|w| w[0] != w[1]) {
        log(format!(
            "  WARNING: driver fuel differs between allocators: {overheads:?}"
        ));
    }

    // 2. time: rounds in rotating order; an allocator slower than `slow` is timed once.
    let k = allocs.len();
    let mut dropped = vec![false; k];
    for (a, c) in cells.iter().enumerate() {
        dropped[a] = c.status != Status::Ok;
    }
    let t = Instant::now();
    for round in 0..opts.reps {
        for i in 0..k {
            let a = (i + round) % k;
            if dropped[a] {
                continue;
            }
            match driver::replay_time(engines, &allocs[a].compiled, driver, trace) {
                Ok(d) => {
                    cells[a].times.push(d);
                    if d > opts.slow {
                        dropped[a] = true;
                    }
                }
                Err(e) => {
                    cells[a].status = Status::Error(format!("timed run: {e:#}"));
                    dropped[a] = true;
                }
            }
        }
    }
    let tr = TraceResult {
        name: trace.name,
        desc: trace.desc.clone(),
        ops: n,
        counts: trace.counts,
        peak_live_bytes: trace.peak_live_bytes,
        peak_live_blocks: trace.peak_live_blocks,
        driver_per_op,
        cells,
    };
    log(format!(
        "  time ({:.2?}): {}",
        t.elapsed(),
        time_line(&tr, allocs, Clock::Wasmtime)
    ));
    Ok(tr)
}

/// `name x ns/op, ...` for the log.
fn time_line(tr: &TraceResult, allocs: &[peers::Alloc], c: Clock) -> String {
    let line: Vec<String> = allocs
        .iter()
        .enumerate()
        .map(|(a, al)| match tr.median_time(c, a) {
            Some(d) => format!(
                "{} {:.1} ns/op",
                al.name,
                d.as_secs_f64() * 1e9 / tr.ops as f64
            ),
            None => format!("{} -", al.name),
        })
        .collect();
    line.join(", ")
}

/// The V8 timing of one trace: the allocators that ran in wasmtime, the same rounds.
fn time_in_v8(
    opts: &Options,
    v8: &V8,
    allocs: &[peers::Alloc],
    trace: &Trace,
    tr: &mut TraceResult,
) -> Result<()> {
    let t = Instant::now();
    let skip: Vec<bool> = tr.cells.iter().map(|c| c.status != Status::Ok).collect();
    let got = v8
        .time(trace, &skip, opts.reps, opts.slow)
        .with_context(|| format!("V8 timing of {}", trace.name))?;
    for (cell, g) in tr.cells.iter_mut().zip(got) {
        cell.v8_times = g.times;
        cell.v8_error = g.error;
    }
    for (a, c) in tr.cells.iter().enumerate() {
        if let Some(e) = &c.v8_error {
            log(format!("  V8 {}: {e}", allocs[a].name));
        }
    }
    log(format!(
        "  V8 time ({:.2?}): {}",
        t.elapsed(),
        time_line(tr, allocs, Clock::V8)
    ));
    Ok(())
}

fn heap_efficiency(
    _opts: &Options,
    engines: &Engines,
    driver: &Compiled,
    a: &peers::Alloc,
    trials: &[Trace],
) -> Efficiency {
    let mut shares = Vec::new();
    for trace in trials {
        let r = (|| -> Result<f64> {
            let cap = _opts.he_cap;
            let mut s = Session::new(engines, &a.compiled, Some(driver), false)?;
            let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots)?;
            s.cap_memory(cap);
            let n = trace.ops.len() as u32;
            let at = s.run(ops_ptr, n, slots_ptr)?;
            if at == n {
                bail!("no allocation failed although the live bytes exceed the cap");
            }
            Ok(traces::live_bytes_after(trace, at as usize) as f64 / cap as f64)
        })();
        match r {
            Ok(x) => shares.push(x),
            Err(e) => {
                return Efficiency {
                    shares,
                    error: Some(format!("{e:#}")),
                };
            }
        }
    }
    Efficiency {
        shares,
        error: None,
    }
}

/// Fill to `heap` bytes, free half, then the max and mean fuel of single calls over a mix.
fn scaling_cell(
    opts: &Options,
    engines: &Engines,
    driver: &Compiled,
    a: &peers::Alloc,
    heap: u64,
) -> Result<(PerCall, usize), String> {
    let inner = || -> Result<(PerCall, usize)> {
        let (fill, mut b, mut rng) = traces::scaling_fill(heap, heap >> 20);
        let mix = traces::scaling_mix(&mut b, &mut rng, opts.scaling_ops);
        let slots = b.slot_count();
        let mut s = Session::new(engines, &a.compiled, Some(driver), true)?;
        let (ops_ptr, slots_ptr) = s.load_ops(&fill.ops, slots)?;
        let start = s.fuel_start(opts.scaling_budget)?;
        let n = fill.ops.len() as u32;
        match s.run(ops_ptr, n, slots_ptr) {
            Ok(done) if done == n => {}
            Ok(done) => bail!("out of memory at fill op {done}"),
            Err(e) if driver::is_out_of_fuel(&e) => {
                bail!(
                    "fill over the fuel budget ({:.0e})",
                    opts.scaling_budget as f64
                )
            }
            Err(e) => return Err(e.into()),
        }
        let _ = s.fuel_since(start);
        let mut table: Vec<(u32, u32)> = (0..slots).map(|i| s.slot(slots_ptr, i)).collect();
        let mut pc = PerCall::default();
        let mut spent = 0u64;
        for op in &mix {
            let f = driver::metered_op(&mut s, &mut table, op)?;
            pc.add(op.kind, f);
            spent += f;
            if spent > opts.scaling_budget {
                bail!(
                    "mix over the fuel budget ({:.0e})",
                    opts.scaling_budget as f64
                );
            }
        }
        Ok((pc, s.memory_bytes()))
    };
    inner().map_err(|e| format!("{e:#}"))
}
