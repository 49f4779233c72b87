//! What a run measured: a [`Cell`] per allocator and trace, the heap-efficiency trials and the
//! scaling cells, and the figures derived from them (medians, paired ratios, per-op means) that
//! the report and the chart both show.

use crate::driver::Abi;
use crate::peers::Alloc;
use crate::replay::PerCall;
use std::fmt;
use std::time::Duration;

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

    /// Whether the fuel replay ran to the end (the cell has figures, not a reason).
    pub fn ok(&self) -> bool {
        self.status == Status::Ok
    }
}

/// How an allocator's replay of a trace ended.
#[derive(Default, Clone, PartialEq)]
pub enum Status {
    #[default]
    Ok,
    /// An allocation returned 0 at this op.
    Failed(u32),
    /// The replay ran out of this fuel budget.
    OverBudget(u64),
    Error(String),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Status::Ok => write!(f, "ok"),
            Status::Failed(at) => write!(f, "out of memory at op {at}"),
            Status::OverBudget(b) => write!(f, "over the fuel budget ({:.0e})", *b as f64),
            Status::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// One trace: what it is, and a cell per allocator (in the order of [`Results::allocs`]).
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
    /// The same through C's `malloc`/`free`/`realloc` (16-aligned, checked): fuel and memory
    /// only, never timed. Empty with `--no-c`.
    pub c_driver_per_op: Option<f64>,
    pub c_cells: Vec<Cell>,
    /// The allocation pattern of a recorded trace (a real program's; `None` for the others).
    pub profile: Option<crate::recorder::Profile>,
}

impl TraceResult {
    /// Median over rounds of `time(0) / time(a)` (subject ÷ allocator `a`), paired by round.
    pub fn ratio(&self, c: Clock, a: usize) -> Option<f64> {
        let (x, y) = (self.cells[0].times(c), self.cells[a].times(c));
        let mut r: Vec<f64> = x.iter().zip(y).map(|(p, q)| p.as_secs_f64() / q.as_secs_f64()).collect();
        median(&mut r)
    }

    /// Median wall time per op, in ns.
    pub fn ns_per_op(&self, c: Clock, a: usize) -> Option<f64> {
        ns_per_op(self.cells[a].times(c), self.ops)
    }

    /// The cells of the replays through `abi`'s functions (empty for C with `--no-c`).
    pub fn cells_of(&self, abi: Abi) -> &[Cell] {
        match abi {
            Abi::Raw => &self.cells,
            Abi::C => &self.c_cells,
        }
    }

    /// Mean allocator fuel per op (from the host's op-by-op replay).
    pub fn fuel_per_op(&self, a: usize) -> Option<f64> {
        self.fuel_per_op_of(Abi::Raw, a)
    }

    /// [`TraceResult::fuel_per_op`] through `abi`'s functions.
    pub fn fuel_per_op_of(&self, abi: Abi, a: usize) -> Option<f64> {
        self.cells_of(abi).get(a)?.per_call.as_ref().map(|pc| pc.total() as f64 / self.ops as f64)
    }

    /// Memory size at the end ÷ the trace's peak of live requested bytes, for a cell that ran.
    pub fn memory_per_live(&self, a: usize) -> Option<f64> {
        self.memory_per_live_of(Abi::Raw, a)
    }

    /// [`TraceResult::memory_per_live`] through `abi`'s functions.
    pub fn memory_per_live_of(&self, abi: Abi, a: usize) -> Option<f64> {
        let c = self.cells_of(abi).get(a)?;
        (c.ok() && c.memory > 0).then(|| c.memory as f64 / self.peak_live_bytes.max(1) as f64)
    }
}

/// Median wall time per op of `ops` ops, in ns.
pub fn ns_per_op(times: &[Duration], ops: usize) -> Option<f64> {
    median_duration(times).map(|d| d.as_secs_f64() * 1e9 / ops as f64)
}

pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn median_duration(v: &[Duration]) -> Option<Duration> {
    let mut s: Vec<f64> = v.iter().map(|d| d.as_secs_f64()).collect();
    median(&mut s).map(Duration::from_secs_f64)
}

/// talc's heap-efficiency measure for one allocator.
pub struct Efficiency {
    /// Share of the cap in live requested bytes at the first failure, per trial.
    pub shares: Vec<f64>,
    pub error: Option<String>,
}

/// The fill-then-mix measure of one allocator at one heap size: the per-call fuel of the mix and
/// the memory size at the end, or why it did not finish.
pub struct ScalingCell {
    pub heap: u64,
    pub result: Result<(PerCall, usize), String>,
}

pub struct Results {
    pub allocs: Vec<Alloc>,
    pub traces: Vec<TraceResult>,
    pub efficiency: Vec<Efficiency>,
    /// A row per allocator, a cell per heap size of `scaling_heaps`.
    pub scaling: Vec<Vec<ScalingCell>>,
    pub scaling_heaps: Vec<u64>,
    /// Node's and V8's versions, when V8 timed the traces.
    pub v8: Option<(String, String)>,
    /// The subject's shipped module (`--shipped`) and whether its bytes are those run.
    pub shipped: Option<Shipped>,
    /// The shared flavor (`--shared`): fuel per call on each trace, by trace name; and the
    /// throughput of Node workers on one heap (`None` without V8).
    pub shared: Vec<(&'static str, crate::replay::PerCall)>,
    pub threads: Option<Vec<crate::shared::Rate>>,
    pub elapsed: Duration,
}

/// The subject's module as the repository ships it, compared with the bytes run.
pub struct Shipped {
    /// As given (scripts/bench: relative to the repository).
    pub path: String,
    /// Its size, or why it could not be read.
    pub size: Result<u64, String>,
    pub identical: bool,
}

impl Results {
    /// The allocators as the report names them ([`Alloc::label`]).
    pub fn names(&self) -> Vec<&str> {
        self.allocs.iter().map(|a| a.label.as_str()).collect()
    }

    /// Whether the C-alignment measure ran (not `--no-c`).
    pub fn c_measured(&self) -> bool {
        self.traces.iter().any(|t| !t.c_cells.is_empty())
    }

    /// Where the subject (the first allocator) failed: corrupted a block, trapped, or ran out of
    /// memory in any measure. The runner's exit status says so, since it is a bug.
    pub fn subject_failures(&self) -> Vec<String> {
        let subject = &self.allocs[0].name;
        let mut bad = Vec::new();
        for t in &self.traces {
            if !t.cells[0].ok() {
                bad.push(format!("{subject} on {}: {}", t.name, t.cells[0].status));
            }
            if let Some(e) = &t.cells[0].v8_error {
                bad.push(format!("{subject} on {} in V8: {e}", t.name));
            }
            if let Some(c) = t.c_cells.first().filter(|c| !c.ok()) {
                bad.push(format!("{subject} on {} (C, 16-aligned): {}", t.name, c.status));
            }
        }
        if let Some(Efficiency { error: Some(e), .. }) = self.efficiency.first() {
            bad.push(format!("{subject} in heap efficiency: {e}"));
        }
        for c in self.scaling.first().into_iter().flatten() {
            if let Err(e) = &c.result {
                bad.push(format!("{subject} in scaling at {} MiB: {e}", c.heap >> 20));
            }
        }
        bad
    }
}
