//! The measurements of one allocator on one trace: the whole trace's fuel inside wasm, its wall
//! time inside wasm, and the fuel of every single call made from the host.

use crate::driver::Abi;
use crate::session::{Compiled, Engines, Session, is_out_of_fuel};
use crate::trace::{Op, Trace};
use anyhow::{Result, anyhow, bail};
use std::time::{Duration, Instant};

/// Whole-trace fuel from the in-wasm replay.
pub enum Replay {
    Done {
        fuel: u64,
        memory: usize,
    },
    /// The allocator returned 0 at this op.
    Failed {
        at: u32,
    },
    /// The fuel budget ran out.
    OverBudget,
}

/// Replays `trace` inside wasm on the fuel engine, through the functions of `abi` (`driver` must
/// be the driver built for it).
pub fn replay_fuel(
    engines: &Engines,
    alloc: &Compiled,
    (driver, abi): (&Compiled, Abi),
    trace: &Trace,
    budget: u64,
) -> Result<Replay> {
    let mut s = Session::with_abi(engines, alloc, Some(driver), true, abi)?;
    let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots)?;
    let start = s.fuel_start(budget)?;
    match s.run(ops_ptr, trace.ops.len() as u32, slots_ptr) {
        Ok(n) if n as usize == trace.ops.len() => {
            Ok(Replay::Done { fuel: s.fuel_since(start)?, memory: s.memory_bytes() })
        }
        Ok(n) => Ok(Replay::Failed { at: n }),
        Err(e) if is_out_of_fuel(&e) => Ok(Replay::OverBudget),
        Err(e) => Err(anyhow::Error::from(e).context(match abi.checked_align() {
            None => "driver trapped (a block's contents were corrupted?)".to_string(),
            Some(a) => format!("driver trapped (a block's contents were corrupted, or a pointer not {a}-aligned?)"),
        })),
    }
}

/// Replays `trace` inside wasm on the timing engine; the wall time of the `run` call.
///
/// The timed replays follow an untimed one in the same fresh instance: the first grows the
/// memory and faults its pages in, and every trace ends with everything freed, so the timed ones
/// measure the allocator rather than the kernel (except for allocators that never reuse memory).
/// A short trace is replayed 3 times and the fastest counts, which filters out a preemption on a
/// shared machine; a long one (over 0.3 s) or one whose memory passed 512 MiB is timed once.
pub fn replay_time(engines: &Engines, alloc: &Compiled, driver: &Compiled, trace: &Trace) -> Result<Duration> {
    let mut s = Session::new(engines, alloc, Some(driver), false)?;
    let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots)?;
    let n = trace.ops.len() as u32;
    let t = Instant::now();
    let done = s.run(ops_ptr, n, slots_ptr)?;
    let warm = t.elapsed();
    if done != n {
        bail!("allocation failed at op {done} (warm-up run)");
    }
    let repeats = if warm > Duration::from_millis(300) || s.memory_bytes() > 512 << 20 { 1 } else { 3 };
    let mut best = Duration::MAX;
    for _ in 0..repeats {
        let t = Instant::now();
        let done = s.run(ops_ptr, n, slots_ptr)?;
        best = best.min(t.elapsed());
        if done != n {
            bail!("allocation failed at op {done} (timed run)");
        }
    }
    Ok(best)
}

/// Per-call fuel of a host-side, op-by-op replay.
#[derive(Default, Clone, Debug)]
pub struct PerCall {
    /// Sum and maximum of the fuel of single calls, by kind (alloc, free, realloc).
    pub sum: [u64; 3],
    pub max: [u64; 3],
    pub count: [u64; 3],
    /// Reallocations that moved the block, and the bytes they had to keep (the copy wasmtime
    /// charges one fuel a byte for).
    pub moved: u64,
    pub copied: u64,
}

impl PerCall {
    pub fn total(&self) -> u64 {
        self.sum.iter().sum()
    }
    pub fn max(&self) -> u64 {
        *self.max.iter().max().unwrap()
    }
    pub fn ops(&self) -> u64 {
        self.count.iter().sum()
    }
    pub fn add(&mut self, kind: u8, fuel: u64) {
        let k = kind as usize;
        self.sum[k] += fuel;
        self.count[k] += 1;
        self.max[k] = self.max[k].max(fuel);
    }
}

/// Calls the allocator's export for one op, metered; updates the host's slot table. A pointer
/// that breaks the session's checked alignment (C's 16) is an error.
pub fn metered_op(s: &mut Session, table: &mut [(u32, u32)], op: &Op) -> Result<u64> {
    let slot = op.slot as usize;
    let (ptr, fuel) = match op.kind {
        0 => s.metered(|s| Ok(s.allocate.call(&mut s.store, op.size)?))?,
        1 => {
            let p = table[slot].0;
            let ((), fuel) = s.metered(|s| Ok(s.deallocate.call(&mut s.store, p)?))?;
            (1, fuel)
        }
        _ => {
            let p = table[slot].0;
            s.metered(|s| Ok(s.reallocate.call(&mut s.store, (p, op.size))?))?
        }
    };
    if ptr == 0 {
        return Err(anyhow!("allocation of {} bytes failed", op.size));
    }
    if let Some(align) = s.abi.checked_align()
        && op.kind != 1
        && ptr % align != 0
    {
        let [alloc, _, realloc] = s.abi.exports();
        let name = if op.kind == 0 { alloc } else { realloc };
        bail!("{name}({}) returned {ptr:#x}, not {align}-aligned", op.size);
    }
    if op.kind != 1 {
        table[slot] = (ptr, op.size);
    }
    Ok(fuel)
}

/// Replays `trace` op by op from the host through the functions of `abi`, with fuel measured
/// around each call.
pub fn replay_per_call(engines: &Engines, alloc: &Compiled, abi: Abi, trace: &Trace) -> Result<PerCall> {
    let mut s = Session::with_abi(engines, alloc, None, true, abi)?;
    let mut table = vec![(0u32, 0u32); trace.slots as usize];
    let mut pc = PerCall::default();
    for op in &trace.ops {
        let (old_ptr, old_size) = table[op.slot as usize];
        let fuel = metered_op(&mut s, &mut table, op)?;
        pc.add(op.kind, fuel);
        if op.kind == 2 && old_ptr != 0 && table[op.slot as usize].0 != old_ptr {
            pc.moved += 1;
            pc.copied += old_size.min(op.size) as u64;
        }
    }
    Ok(pc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::driver_wasm;
    use crate::traces::Scale;
    use wasmtime::Trap;

    /// A bump allocator in WAT whose blocks are `align`-aligned (8 or 16), exporting its
    /// functions under the raw ABI's names and C's; `overlap` makes every block start 8 bytes into
    /// the previous one, which the driver's checks must catch.
    fn bump_wat(overlap: bool, align: i32) -> Vec<u8> {
        let step = if overlap {
            "(i32.const 8)".to_string()
        } else {
            format!("(i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const {}))", -align)
        };
        let src = format!(
            r#"(module
              (memory (export "memory") 1)
              (global $top (mut i32) (i32.const 1024))
              (func $alloc (export "allocate") (export "malloc") (param $n i32) (result i32)
                (local $p i32) (local $end i32) (local $have i32)
                (local.set $p (global.get $top))
                (local.set $end (i32.add (local.get $p) {step}))
                (local.set $have (i32.mul (memory.size) (i32.const 65536)))
                (if (i32.gt_u (i32.add (local.get $end) (i32.const 8)) (local.get $have))
                  (then
                    (if (i32.eq
                          (memory.grow (i32.add (i32.shr_u (i32.sub (i32.add (local.get $end) (i32.const 8)) (local.get $have)) (i32.const 16)) (i32.const 1)))
                          (i32.const -1))
                      (then (return (i32.const 0))))))
                (global.set $top (local.get $end))
                (local.get $p))
              (func (export "deallocate") (export "free") (param i32))
              (func (export "reallocate") (export "realloc") (param $p i32) (param $n i32) (result i32)
                (local $q i32)
                (local.set $q (call $alloc (local.get $n)))
                (if (i32.eqz (local.get $q)) (then (return (i32.const 0))))
                (memory.copy (local.get $q) (local.get $p) (local.get $n))
                (local.get $q)))"#
        );
        wat::parse_str(src).unwrap()
    }

    fn small_trace() -> Trace {
        crate::traces::talc_perf(&Scale { quick: true }, true)
    }

    /// The driver of `abi`, compiled.
    fn driver(engines: &Engines, abi: Abi) -> Compiled {
        Compiled::new(engines, &driver_wasm(abi)).unwrap()
    }

    fn assert_unreachable_trap(e: &anyhow::Error) {
        let trap = e.chain().find_map(|c| c.downcast_ref::<Trap>());
        assert_eq!(trap, Some(&Trap::UnreachableCodeReached), "{e:#}");
    }

    #[test]
    fn driver_replays_a_sound_allocator() {
        let engines = Engines::new().unwrap();
        let driver = driver(&engines, Abi::Raw);
        let alloc = Compiled::new(&engines, &bump_wat(false, 8)).unwrap();
        let trace = small_trace();
        match replay_fuel(&engines, &alloc, (&driver, Abi::Raw), &trace, u64::MAX / 4).unwrap() {
            Replay::Done { fuel, memory } => assert!(fuel > 0 && memory > 0),
            _ => panic!("replay did not finish"),
        }
        let pc = replay_per_call(&engines, &alloc, Abi::Raw, &trace).unwrap();
        assert_eq!(pc.ops(), trace.ops.len() as u64);
        replay_time(&engines, &alloc, &driver, &trace).unwrap();
    }

    #[test]
    fn driver_traps_on_overlapping_blocks() {
        let engines = Engines::new().unwrap();
        let alloc = Compiled::new(&engines, &bump_wat(true, 8)).unwrap();
        for abi in [Abi::Raw, Abi::C] {
            let d = driver(&engines, abi);
            let Err(e) = replay_fuel(&engines, &alloc, (&d, abi), &small_trace(), u64::MAX / 4) else {
                panic!("the {abi:?} driver must trap when blocks overlap");
            };
            assert_unreachable_trap(&e);
        }
    }

    #[test]
    fn c_driver_replays_a_16_aligned_allocator() {
        let engines = Engines::new().unwrap();
        let driver = driver(&engines, Abi::C);
        let alloc = Compiled::new(&engines, &bump_wat(false, 16)).unwrap();
        let trace = small_trace();
        match replay_fuel(&engines, &alloc, (&driver, Abi::C), &trace, u64::MAX / 4).unwrap() {
            Replay::Done { fuel, memory } => assert!(fuel > 0 && memory > 0),
            _ => panic!("replay did not finish"),
        }
        let pc = replay_per_call(&engines, &alloc, Abi::C, &trace).unwrap();
        assert_eq!(pc.ops(), trace.ops.len() as u64);
    }

    /// An allocator whose blocks are sound but only 8-aligned: the raw driver replays it, the C
    /// driver traps and the host's op-by-op C replay fails.
    #[test]
    fn c_driver_traps_on_8_aligned_blocks() {
        let engines = Engines::new().unwrap();
        let alloc = Compiled::new(&engines, &bump_wat(false, 8)).unwrap();
        let trace = small_trace();
        let raw = driver(&engines, Abi::Raw);
        let done = replay_fuel(&engines, &alloc, (&raw, Abi::Raw), &trace, u64::MAX / 4);
        assert!(matches!(done, Ok(Replay::Done { .. })));
        let c = driver(&engines, Abi::C);
        let Err(e) = replay_fuel(&engines, &alloc, (&c, Abi::C), &trace, u64::MAX / 4) else {
            panic!("the C driver must trap on a pointer that is not 16-aligned");
        };
        assert_unreachable_trap(&e);
        let e = replay_per_call(&engines, &alloc, Abi::C, &trace).unwrap_err();
        assert!(e.to_string().contains("not 16-aligned"), "{e:#}");
    }

    #[test]
    fn driver_reports_the_first_failed_allocation() {
        let engines = Engines::new().unwrap();
        let driver = driver(&engines, Abi::Raw);
        let alloc = Compiled::new(&engines, &bump_wat(false, 8)).unwrap();
        let mut s = Session::new(&engines, &alloc, Some(&driver), false).unwrap();
        let trace = small_trace();
        let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots).unwrap();
        s.cap_memory(s.memory_bytes());
        let at = s.run(ops_ptr, trace.ops.len() as u32, slots_ptr).unwrap();
        assert!(at > 0 && at < trace.ops.len() as u32, "stopped at {at}");
        assert_ne!(trace.ops[at as usize].kind, crate::trace::FREE);
    }
}
