//! The measures of a run, allocator by allocator: each trace's fuel and times (in wasmtime, and in
//! V8 when asked), talc's heap-efficiency measure, and the scaling of the worst call with the heap
//! size. Progress goes to stderr as it comes.

use crate::driver::Abi;
use crate::log;
use crate::options::Options;
use crate::peers::Alloc;
use crate::replay::{self, PerCall, Replay};
use crate::results::{Cell, Clock, Efficiency, ScalingCell, Status, TraceResult, ns_per_op};
use crate::session::{Compiled, Engines, Session, is_out_of_fuel};
use crate::trace::{self, Trace};
use crate::traces;
use crate::v8::V8;
use anyhow::{Context, Result, bail};
use std::time::Instant;

/// The modules every measure needs: the engines, the driver, the allocators.
pub struct Bench<'a> {
    pub opts: &'a Options,
    pub engines: &'a Engines,
    pub driver: &'a Compiled,
    /// The driver over `malloc`/`free`/`realloc` (16-alignment checked), unless `--no-c`.
    pub c_driver: Option<&'a Compiled>,
    pub allocs: &'a [Alloc],
}

impl Bench<'_> {
    /// Fuel, then time in rounds, of every allocator on `trace`; then (unless `--no-c`) the fuel
    /// of every allocator on it through C's `malloc`/`free`/`realloc`.
    pub fn measure_trace(&self, trace: &Trace) -> Result<TraceResult> {
        let mut cells: Vec<Cell> =
            self.allocs.iter().map(|a| self.fuel_cell(a, &a.compiled, (self.driver, Abi::Raw), trace)).collect();
        let driver_per_op = driver_fuel_per_op(&cells, trace.ops.len());
        let t = Instant::now();
        self.time_rounds(trace, &mut cells);
        let line = time_line_of(&cells, trace.ops.len(), self.allocs, Clock::Wasmtime);
        log(format!("  time ({:.2?}): {line}", t.elapsed()));
        let c_cells: Vec<Cell> = match self.c_driver {
            Some(d) => self.allocs.iter().map(|a| self.fuel_cell(a, a.c_compiled(), (d, Abi::C), trace)).collect(),
            None => Vec::new(),
        };
        let c_driver_per_op = driver_fuel_per_op(&c_cells, trace.ops.len());
        Ok(TraceResult {
            name: trace.name,
            desc: trace.desc.clone(),
            ops: trace.ops.len(),
            counts: trace.counts,
            peak_live_bytes: trace.peak_live_bytes,
            peak_live_blocks: trace.peak_live_blocks,
            driver_per_op,
            cells,
            c_driver_per_op,
            c_cells,
            profile: None,
        })
    }

    /// The whole trace's fuel inside wasm (`module` through the driver of `abi`), then (when it
    /// ran to the end) the fuel of each call.
    fn fuel_cell(&self, a: &Alloc, module: &Compiled, (driver, abi): (&Compiled, Abi), trace: &Trace) -> Cell {
        let t = Instant::now();
        let budget = self.opts.effort.fuel_budget;
        let mut cell = Cell::default();
        match replay::replay_fuel(self.engines, module, (driver, abi), trace, budget) {
            Ok(Replay::Done { fuel, memory }) => {
                cell.replay_fuel = fuel;
                cell.memory = memory;
                match replay::replay_per_call(self.engines, module, abi, trace) {
                    Ok(pc) => cell.per_call = Some(pc),
                    Err(e) => cell.status = Status::Error(format!("host replay: {e:#}")),
                }
            }
            Ok(Replay::Failed { at }) => cell.status = Status::Failed(at),
            Ok(Replay::OverBudget) => cell.status = Status::OverBudget(budget),
            Err(e) => cell.status = Status::Error(format!("{e:#}")),
        }
        let label = match abi {
            Abi::Raw => "fuel",
            Abi::C => "C fuel",
        };
        log(format!("  {label} {:<10} {}", a.name, fuel_line(&cell, trace.ops.len(), t)));
        cell
    }

    /// Timed rounds that visit the allocators in a rotating order (A/B interleaved); an allocator
    /// that failed, or whose run took longer than `slow`, drops out.
    fn time_rounds(&self, trace: &Trace, cells: &mut [Cell]) {
        let k = self.allocs.len();
        let mut dropped: Vec<bool> = cells.iter().map(|c| !c.ok()).collect();
        for round in 0..self.opts.effort.reps {
            for i in 0..k {
                let a = (i + round) % k;
                if dropped[a] {
                    continue;
                }
                let compiled = &self.allocs[a].compiled;
                match replay::replay_time(self.engines, compiled, self.driver, trace) {
                    Ok(d) => {
                        cells[a].times.push(d);
                        dropped[a] = d > self.opts.effort.slow;
                    }
                    Err(e) => {
                        cells[a].status = Status::Error(format!("timed run: {e:#}"));
                        dropped[a] = true;
                    }
                }
            }
        }
    }

    /// The V8 timing of one trace: the allocators that ran in wasmtime, the same rounds.
    pub fn time_in_v8(&self, v8: &V8, trace: &Trace, tr: &mut TraceResult) -> Result<()> {
        let t = Instant::now();
        let skip: Vec<bool> = tr.cells.iter().map(|c| !c.ok()).collect();
        let effort = &self.opts.effort;
        let got =
            v8.time(trace, &skip, effort.reps, effort.slow).with_context(|| format!("V8 timing of {}", trace.name))?;
        for ((cell, g), a) in tr.cells.iter_mut().zip(got).zip(self.allocs) {
            cell.v8_times = g.times;
            cell.v8_error = g.error;
            if let Some(e) = &cell.v8_error {
                log(format!("  V8 {}: {e}", a.name));
            }
        }
        let line = time_line_of(&tr.cells, tr.ops, self.allocs, Clock::V8);
        log(format!("  V8 time ({:.2?}): {line}", t.elapsed()));
        Ok(())
    }

    /// talc's heap-efficiency measure of every allocator, over the same seeded trials.
    pub fn heap_efficiency(&self) -> Vec<Efficiency> {
        let t = Instant::now();
        let cap = self.opts.effort.efficiency_cap;
        let trials: Vec<Trace> =
            (0..self.opts.effort.efficiency_trials).map(|seed| traces::heap_efficiency(seed, cap as u64)).collect();
        let all = self.allocs.iter().map(|a| self.efficiency_of(a, &trials, cap)).collect();
        log(format!("heap efficiency done in {:.2?}", t.elapsed()));
        all
    }

    fn efficiency_of(&self, a: &Alloc, trials: &[Trace], cap: usize) -> Efficiency {
        let mut shares = Vec::new();
        for trace in trials {
            match self.efficiency_trial(a, trace, cap) {
                Ok(share) => shares.push(share),
                Err(e) => {
                    let error = Some(format!("{e:#}"));
                    return Efficiency { shares, error };
                }
            }
        }
        Efficiency { shares, error: None }
    }

    /// The share of `cap` in live requested bytes when the first allocation fails.
    fn efficiency_trial(&self, a: &Alloc, trace: &Trace, cap: usize) -> Result<f64> {
        let mut s = Session::new(self.engines, &a.compiled, Some(self.driver), false)?;
        let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots)?;
        s.cap_memory(cap);
        let n = trace.ops.len() as u32;
        let at = s.run(ops_ptr, n, slots_ptr)?;
        if at == n {
            bail!("no allocation failed although the live bytes exceed the cap");
        }
        Ok(trace::live_bytes_after(trace, at as usize) as f64 / cap as f64)
    }

    /// The scaling measure: a row per allocator, a cell per heap size.
    pub fn scaling(&self, heaps: &[u64]) -> Vec<Vec<ScalingCell>> {
        let t = Instant::now();
        let rows = self.allocs.iter().map(|a| self.scaling_row(a, heaps)).collect();
        log(format!("scaling done in {:.2?}", t.elapsed()));
        rows
    }

    fn scaling_row(&self, a: &Alloc, heaps: &[u64]) -> Vec<ScalingCell> {
        let mut row = Vec::new();
        for &heap in heaps {
            let result = self.scaling_cell(a, heap).map_err(|e| format!("{e:#}"));
            let mib = heap >> 20;
            match &result {
                Ok((pc, _)) => log(format!(
                    "scaling {:<10} {mib:>4} MiB: max {} fuel/call, mean {:.0}",
                    a.name,
                    pc.max(),
                    pc.total() as f64 / pc.ops() as f64
                )),
                Err(e) => log(format!("scaling {:<10} {mib:>4} MiB: {e}", a.name)),
            }
            row.push(ScalingCell { heap, result });
        }
        row
    }

    /// Fill to `heap` bytes, free half, then the max and mean fuel of single calls over a mix.
    fn scaling_cell(&self, a: &Alloc, heap: u64) -> Result<(PerCall, usize)> {
        let budget = self.opts.effort.fuel_budget;
        let (fill, mut b, mut rng) = traces::scaling_fill(heap, heap >> 20);
        let mix = traces::scaling_mix(&mut b, &mut rng, self.opts.effort.scaling_ops);
        let slots = b.slot_count();
        let mut s = Session::new(self.engines, &a.compiled, Some(self.driver), true)?;
        let (ops_ptr, slots_ptr) = s.load_ops(&fill.ops, slots)?;
        s.fuel_start(budget)?;
        let n = fill.ops.len() as u32;
        match s.run(ops_ptr, n, slots_ptr) {
            Ok(done) if done == n => {}
            Ok(done) => bail!("out of memory at fill op {done}"),
            Err(e) if is_out_of_fuel(&e) => {
                bail!("fill over the fuel budget ({:.0e})", budget as f64)
            }
            Err(e) => return Err(e.into()),
        }
        let mut table: Vec<(u32, u32)> = (0..slots).map(|i| s.slot(slots_ptr, i)).collect();
        let mut pc = PerCall::default();
        for op in &mix {
            pc.add(op.kind, replay::metered_op(&mut s, &mut table, op)?);
            if pc.total() > budget {
                bail!("mix over the fuel budget ({:.0e})", budget as f64);
            }
        }
        Ok((pc, s.memory_bytes()))
    }
}

/// The driver's own fuel per op (the whole replay minus the allocator's calls): the same for every
/// allocator, since it depends on the trace only; a warning says when it is not.
fn driver_fuel_per_op(cells: &[Cell], ops: usize) -> Option<f64> {
    let overheads: Vec<u64> =
        cells.iter().filter_map(|c| c.per_call.as_ref().map(|pc| c.replay_fuel - pc.total())).collect();
    if overheads.windows(2).any(|w| w[0] != w[1]) {
        log(format!("  WARNING: driver fuel differs between allocators: {overheads:?}"));
    }
    overheads.first().map(|&o| o as f64 / ops as f64)
}

/// A fuel cell for the log.
fn fuel_line(cell: &Cell, ops: usize, started: Instant) -> String {
    match (&cell.status, &cell.per_call) {
        (Status::Ok, Some(pc)) => format!(
            "{:.1} fuel/op (max {}; mean alloc {:.0} / free {:.0} / realloc {:.0}), replay {:.1}/op, memory {} KiB ({:.2?})",
            pc.total() as f64 / ops as f64,
            pc.max(),
            pc.sum[0] as f64 / pc.count[0].max(1) as f64,
            pc.sum[1] as f64 / pc.count[1].max(1) as f64,
            pc.sum[2] as f64 / pc.count[2].max(1) as f64,
            cell.replay_fuel as f64 / ops as f64,
            cell.memory >> 10,
            started.elapsed()
        ),
        (s, _) => s.to_string(),
    }
}

/// `name x ns/op, ...` for the log.
fn time_line_of(cells: &[Cell], ops: usize, allocs: &[Alloc], c: Clock) -> String {
    let line: Vec<String> = allocs
        .iter()
        .zip(cells)
        .map(|(al, cell)| match ns_per_op(cell.times(c), ops) {
            Some(ns) => format!("{} {ns:.1} ns/op", al.name),
            None => format!("{} -", al.name),
        })
        .collect();
    line.join(", ")
}
