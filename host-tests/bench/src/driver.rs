//! The replay driver: a wasm module generated with `wasm-encoder` that imports an allocator's
//! `allocate`/`deallocate`/`reallocate` and `memory`, and replays an operation list inside wasm.
//!
//! The driver defines a second memory of its own (multi-memory), exported as `dmem`, that holds
//! the slot table (8 bytes a slot: pointer, requested size) and the operation list written by
//! the host (8 bytes an op: `kind << 28 | slot`, size). `run(ops_ptr, n, slots_ptr) -> i32`
//! replays ops `0..n` and returns `n`, or the index of the first op whose `allocate`/`reallocate`
//! returned 0. Every block is touched: its first and last word (bytes when it is smaller than a
//! word) are written with a per-slot tag, checked before it is freed or reallocated, and the
//! first word is checked again after `reallocate` (contents must survive). A mismatch traps
//! (`unreachable`).
//!
//! This module also holds the wasmtime plumbing: the two engines (one with fuel metering for
//! instruction counts, one without for timing), instances with a memory cap, op-by-op replay
//! from the host with fuel measured around each call.

use crate::traces::{Op, Trace};
use anyhow::{Context, Result, anyhow, bail};
use std::time::{Duration, Instant};
use wasm_encoder::{
    BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    ImportSection, InstructionSink, MemArg, MemArgTarget, MemorySection, MemoryType,
    Module as WModule, TypeSection, ValType,
};
use wasmtime::{
    Config, Engine, Extern, Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc,
};

pub const PAGE: usize = 65536;

// Function indices in the driver: the three imports, then `run`.
const F_ALLOCATE: u32 = 0;
const F_DEALLOCATE: u32 = 1;
const F_REALLOCATE: u32 = 2;
// Memory indices: the allocator's (imported), then the driver's own.
const MEM_ALLOC: u32 = 0;
const MEM_DRIVER: u32 = 1;

// Locals of `run`: the three parameters, then these.
const L_OPS: u32 = 0;
const L_N: u32 = 1;
const L_SLOTS: u32 = 2;
const L_I: u32 = 3;
const L_W: u32 = 4;
const L_SLOT_ADDR: u32 = 5;
const L_SIZE: u32 = 6;
const L_P: u32 = 7;
const L_TAG: u32 = 8;
const L_OLD: u32 = 9;
const L_OP_ADDR: u32 = 10;

fn mem(memory_index: u32, offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        target: MemArgTarget::Memory(memory_index),
        ordering: None,
    }
}

/// `if size >= 4 { store32 [p] tag; store32 [p+size-4] tag } else if size != 0 { store8 .. }`
fn emit_touch(f: &mut InstructionSink, p: u32, size: u32) {
    f.local_get(size)
        .i32_const(4)
        .i32_ge_u()
        .if_(BlockType::Empty);
    f.local_get(p)
        .local_get(L_TAG)
        .i32_store(mem(MEM_ALLOC, 0, 0));
    f.local_get(p)
        .local_get(size)
        .i32_add()
        .i32_const(4)
        .i32_sub();
    f.local_get(L_TAG).i32_store(mem(MEM_ALLOC, 0, 0));
    f.else_();
    f.local_get(size).if_(BlockType::Empty);
    f.local_get(p)
        .local_get(L_TAG)
        .i32_store8(mem(MEM_ALLOC, 0, 0));
    f.local_get(p)
        .local_get(size)
        .i32_add()
        .i32_const(1)
        .i32_sub();
    f.local_get(L_TAG).i32_store8(mem(MEM_ALLOC, 0, 0));
    f.end();
    f.end();
}

/// Loads the slot's pointer and size into `L_P` and `L_OLD`, and checks the block's first and last
/// words (what the free and realloc ops do first).
fn emit_load_slot_and_check(f: &mut InstructionSink) {
    f.local_get(L_SLOT_ADDR)
        .i32_load(mem(MEM_DRIVER, 0, 2))
        .local_set(L_P);
    f.local_get(L_SLOT_ADDR)
        .i32_load(mem(MEM_DRIVER, 4, 2))
        .local_set(L_OLD);
    emit_check(f, L_P, L_OLD, true);
}

/// Stores `L_P` and `L_SIZE` into the slot and writes the tag into the block (what the alloc and
/// realloc ops do last).
fn emit_store_slot_and_touch(f: &mut InstructionSink) {
    f.local_get(L_SLOT_ADDR)
        .local_get(L_P)
        .i32_store(mem(MEM_DRIVER, 0, 2));
    f.local_get(L_SLOT_ADDR)
        .local_get(L_SIZE)
        .i32_store(mem(MEM_DRIVER, 4, 2));
    emit_touch(f, L_P, L_SIZE);
}

/// Traps unless the first and (when `last`) the last word of the block hold the tag.
fn emit_check(f: &mut InstructionSink, p: u32, size: u32, last: bool) {
    f.local_get(size)
        .i32_const(4)
        .i32_ge_u()
        .if_(BlockType::Empty);
    f.local_get(p)
        .i32_load(mem(MEM_ALLOC, 0, 0))
        .local_get(L_TAG)
        .i32_ne();
    if last {
        f.local_get(p)
            .local_get(size)
            .i32_add()
            .i32_const(4)
            .i32_sub();
        f.i32_load(mem(MEM_ALLOC, 0, 0))
            .local_get(L_TAG)
            .i32_ne()
            .i32_or();
    }
    f.if_(BlockType::Empty).unreachable().end();
    f.else_();
    f.local_get(size).if_(BlockType::Empty);
    f.local_get(p).i32_load8_u(mem(MEM_ALLOC, 0, 0));
    f.local_get(L_TAG).i32_const(0xff).i32_and().i32_ne();
    if last {
        f.local_get(p)
            .local_get(size)
            .i32_add()
            .i32_const(1)
            .i32_sub();
        f.i32_load8_u(mem(MEM_ALLOC, 0, 0));
        f.local_get(L_TAG)
            .i32_const(0xff)
            .i32_and()
            .i32_ne()
            .i32_or();
    }
    f.if_(BlockType::Empty).unreachable().end();
    f.end();
    f.end();
}

/// The driver module's bytes.
pub fn driver_wasm() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]); // 0: allocate
    types.ty().function([ValType::I32], []); // 1: deallocate
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]); // 2: reallocate
    types
        .ty()
        .function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32]); // 3: run

    let mut imports = ImportSection::new();
    imports.import("alloc", "allocate", EntityType::Function(0));
    imports.import("alloc", "deallocate", EntityType::Function(1));
    imports.import("alloc", "reallocate", EntityType::Function(2));
    let any_memory = MemoryType {
        minimum: 0,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    };
    imports.import("alloc", "memory", EntityType::Memory(any_memory));

    let mut functions = FunctionSection::new();
    functions.function(3);

    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        ..any_memory
    });

    let mut exports = ExportSection::new();
    exports.export("run", ExportKind::Func, 3);
    exports.export("dmem", ExportKind::Memory, MEM_DRIVER);

    let mut func = Function::new([(8, ValType::I32)]);
    let mut f = func.instructions();
    // i = 0 (locals start at zero)
    f.block(BlockType::Empty); // $done
    f.loop_(BlockType::Empty); // $loop
    f.local_get(L_I).local_get(L_N).i32_ge_u().br_if(1);
    // op_addr = ops + i * 8; w = [op_addr]; size = [op_addr + 4]
    f.local_get(L_OPS)
        .local_get(L_I)
        .i32_const(3)
        .i32_shl()
        .i32_add()
        .local_tee(L_OP_ADDR);
    f.i32_load(mem(MEM_DRIVER, 0, 2)).local_set(L_W);
    f.local_get(L_OP_ADDR)
        .i32_load(mem(MEM_DRIVER, 4, 2))
        .local_set(L_SIZE);
    // slot_addr = slots + (w & 0x0fffffff) * 8
    f.local_get(L_SLOTS);
    f.local_get(L_W)
        .i32_const(0x0fff_ffff)
        .i32_and()
        .i32_const(3)
        .i32_shl()
        .i32_add();
    f.local_set(L_SLOT_ADDR);
    // tag = (((slot * 0x9E3779B1) >> 24) | 1) * 0x01010101: a byte repeated, so that the
    // overlapping first and last words of a 4..7-byte block agree.
    f.local_get(L_W)
        .i32_const(0x0fff_ffff)
        .i32_and()
        .i32_const(0x9E37_79B1_u32 as i32)
        .i32_mul();
    f.i32_const(24)
        .i32_shr_u()
        .i32_const(1)
        .i32_or()
        .i32_const(0x0101_0101)
        .i32_mul();
    f.local_set(L_TAG);
    f.block(BlockType::Empty); // $next
    f.block(BlockType::Empty); // $realloc
    f.block(BlockType::Empty); // $free
    f.block(BlockType::Empty); // $alloc
    f.local_get(L_W)
        .i32_const(28)
        .i32_shr_u()
        .br_table([0, 1, 2], 2);
    f.end();
    // alloc: p = allocate(size); fail -> return i
    f.local_get(L_SIZE)
        .call(F_ALLOCATE)
        .local_tee(L_P)
        .i32_eqz();
    f.if_(BlockType::Empty).local_get(L_I).return_().end();
    emit_store_slot_and_touch(&mut f);
    f.br(2); // -> $next
    f.end();
    // free: check, deallocate
    emit_load_slot_and_check(&mut f);
    f.local_get(L_P).call(F_DEALLOCATE);
    f.br(1); // -> $next
    f.end();
    // realloc: check, p = reallocate(p, size), check the first word survived, touch.
    emit_load_slot_and_check(&mut f);
    f.local_get(L_P)
        .local_get(L_SIZE)
        .call(F_REALLOCATE)
        .local_tee(L_P)
        .i32_eqz();
    f.if_(BlockType::Empty).local_get(L_I).return_().end();
    // old = min(old, size)
    f.local_get(L_OLD)
        .local_get(L_SIZE)
        .local_get(L_OLD)
        .local_get(L_SIZE)
        .i32_lt_u()
        .select();
    f.local_set(L_OLD);
    emit_check(&mut f, L_P, L_OLD, false);
    emit_store_slot_and_touch(&mut f);
    f.end(); // $next
    f.local_get(L_I).i32_const(1).i32_add().local_set(L_I);
    f.br(0);
    f.end(); // loop
    f.end(); // $done
    f.local_get(L_N);
    f.end();
    let mut code = CodeSection::new();
    code.function(&func);

    let mut module = WModule::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code);
    module.finish()
}

// ------------------------------------------------------------------------------------------------

/// One op as the driver reads it from its memory: `kind << 28 | slot`, then the size (little
/// endian).
pub fn op_bytes(op: &Op) -> [u8; 8] {
    let w = ((op.kind as u32) << 28) | op.slot;
    let mut b = [0; 8];
    b[..4].copy_from_slice(&w.to_le_bytes());
    b[4..].copy_from_slice(&op.size.to_le_bytes());
    b
}

/// Store data: a cap on `memory.grow` (growth beyond `cap` bytes is refused while `capped`).
pub struct Limits {
    pub cap: usize,
    pub capped: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _cur: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(!self.capped || desired <= self.cap)
    }
    fn table_growing(
        &mut self,
        _cur: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

pub struct Engines {
    pub fuel: Engine,
    pub time: Engine,
}

impl Engines {
    pub fn new() -> Result<Self> {
        let mut config = Config::new();
        config.wasm_multi_memory(true);
        let time = Engine::new(&config)?;
        config.consume_fuel(true);
        let fuel = Engine::new(&config)?;
        Ok(Engines { fuel, time })
    }
}

/// One allocator module (and the driver) compiled for both engines.
pub struct Compiled {
    pub fuel: Module,
    pub time: Module,
}

impl Compiled {
    pub fn new(engines: &Engines, bytes: &[u8]) -> Result<Self> {
        Ok(Compiled {
            fuel: Module::new(&engines.fuel, bytes)?,
            time: Module::new(&engines.time, bytes)?,
        })
    }
    fn get(&self, fuel: bool) -> &Module {
        if fuel { &self.fuel } else { &self.time }
    }
}

/// The driver's `run(ops_ptr, n, slots_ptr) -> done`.
type RunFunc = TypedFunc<(u32, u32, u32), u32>;

/// An allocator instance, optionally with the driver linked to it.
pub struct Session {
    pub store: Store<Limits>,
    pub memory: Memory,
    pub allocate: TypedFunc<u32, u32>,
    pub deallocate: TypedFunc<u32, ()>,
    pub reallocate: TypedFunc<(u32, u32), u32>,
    driver: Option<(RunFunc, Memory)>,
    fuel: bool,
}

/// Fuel given to a store for host calls (never runs out in practice).
const HOST_FUEL: u64 = 1 << 62;

impl Session {
    pub fn new(
        engines: &Engines,
        alloc: &Compiled,
        driver: Option<&Compiled>,
        fuel: bool,
    ) -> Result<Self> {
        let engine = if fuel { &engines.fuel } else { &engines.time };
        let mut store = Store::new(
            engine,
            Limits {
                cap: usize::MAX,
                capped: false,
            },
        );
        store.limiter(|l| l);
        if fuel {
            store.set_fuel(HOST_FUEL)?;
        }
        let inst = Instance::new(&mut store, alloc.get(fuel), &[])?;
        let memory = inst
            .get_memory(&mut store, "memory")
            .context("no memory export")?;
        let allocate = inst.get_typed_func::<u32, u32>(&mut store, "allocate")?;
        let deallocate = inst.get_typed_func::<u32, ()>(&mut store, "deallocate")?;
        let reallocate = inst.get_typed_func::<(u32, u32), u32>(&mut store, "reallocate")?;
        let driver = match driver {
            None => None,
            Some(d) => {
                let imports: [Extern; 4] = [
                    (*allocate.func()).into(),
                    (*deallocate.func()).into(),
                    (*reallocate.func()).into(),
                    memory.into(),
                ];
                let dinst = Instance::new(&mut store, d.get(fuel), &imports)?;
                let run = dinst.get_typed_func::<(u32, u32, u32), u32>(&mut store, "run")?;
                let dmem = dinst.get_memory(&mut store, "dmem").context("no dmem")?;
                Some((run, dmem))
            }
        };
        Ok(Session {
            store,
            memory,
            allocate,
            deallocate,
            reallocate,
            driver,
            fuel,
        })
    }

    /// Refuses memory growth beyond `bytes` from now on.
    pub fn cap_memory(&mut self, bytes: usize) {
        let l = self.store.data_mut();
        l.cap = bytes;
        l.capped = true;
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    /// Writes the slot table (zeroed) and ops into the driver's memory; returns
    /// `(ops_ptr, slots_ptr)`.
    pub fn load_ops(&mut self, ops: &[Op], slots: u32) -> Result<(u32, u32)> {
        let (_, dmem) = self.driver.as_ref().context("no driver")?.clone();
        let slots_bytes = slots as usize * 8;
        let need = slots_bytes + ops.len() * 8;
        let have = dmem.data_size(&self.store);
        if need > have {
            dmem.grow(&mut self.store, (need - have).div_ceil(PAGE) as u64)?;
        }
        let data = dmem.data_mut(&mut self.store);
        data[..slots_bytes].fill(0);
        let out = &mut data[slots_bytes..slots_bytes + ops.len() * 8];
        for (chunk, op) in out.chunks_exact_mut(8).zip(ops) {
            chunk.copy_from_slice(&op_bytes(op));
        }
        Ok((slots_bytes as u32, 0))
    }

    /// Replays ops (already loaded) inside wasm. Returns how many succeeded (`n` when all did).
    pub fn run(&mut self, ops_ptr: u32, n: u32, slots_ptr: u32) -> wasmtime::Result<u32> {
        let (run, _) = self
            .driver
            .as_ref()
            .expect("a session with the driver")
            .clone();
        run.call(&mut self.store, (ops_ptr, n, slots_ptr))
    }

    /// Pointer and size of a slot in the driver's table.
    pub fn slot(&self, slots_ptr: u32, slot: u32) -> (u32, u32) {
        let (_, dmem) = self.driver.as_ref().expect("driver");
        let data = dmem.data(&self.store);
        let a = slots_ptr as usize + slot as usize * 8;
        let w = |o: usize| u32::from_le_bytes(data[a + o..a + o + 4].try_into().unwrap());
        (w(0), w(4))
    }

    /// Sets the fuel budget; returns a reading to pass to [`Session::fuel_since`].
    pub fn fuel_start(&mut self, budget: u64) -> Result<u64> {
        self.store.set_fuel(budget)?;
        Ok(budget)
    }

    pub fn fuel_since(&self, start: u64) -> Result<u64> {
        Ok(start - self.store.get_fuel()?)
    }

    /// Runs one call with fuel measured around it; `Ok((result, fuel))`.
    pub fn metered<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<(T, u64)> {
        debug_assert!(self.fuel);
        self.store.set_fuel(HOST_FUEL)?;
        let r = f(self)?;
        Ok((r, HOST_FUEL - self.store.get_fuel()?))
    }
}

/// Whether an error is wasmtime's out-of-fuel trap.
pub fn is_out_of_fuel(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel)
}

// ------------------------------------------------------------------------------------------------
// Measurements.

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

/// Replays `trace` inside wasm on the fuel engine.
pub fn replay_fuel(
    engines: &Engines,
    alloc: &Compiled,
    driver: &Compiled,
    trace: &Trace,
    budget: u64,
) -> Result<Replay> {
    let mut s = Session::new(engines, alloc, Some(driver), true)?;
    let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots)?;
    let start = s.fuel_start(budget)?;
    match s.run(ops_ptr, trace.ops.len() as u32, slots_ptr) {
        Ok(n) if n as usize == trace.ops.len() => Ok(Replay::Done {
            fuel: s.fuel_since(start)?,
            memory: s.memory_bytes(),
        }),
        Ok(n) => Ok(Replay::Failed { at: n }),
        Err(e) if is_out_of_fuel(&e) => Ok(Replay::OverBudget),
        Err(e) => {
            Err(anyhow::Error::from(e)
                .context("driver trapped (a block's contents were corrupted?)"))
        }
    }
}

/// Replays `trace` inside wasm on the timing engine; the wall time of the `run` call.
///
/// The timed replays follow an untimed one in the same fresh instance: the first grows the
/// memory and faults its pages in, and every trace ends with everything freed, so the timed ones
/// measure the allocator rather than the kernel (except for allocators that never reuse memory).
/// A short trace is replayed 3 times and the fastest counts, which filters out a preemption on a
/// shared machine; a long one (over 0.3 s) or one whose memory passed 512 MiB is timed once.
pub fn replay_time(
    engines: &Engines,
    alloc: &Compiled,
    driver: &Compiled,
    trace: &Trace,
) -> Result<Duration> {
    let mut s = Session::new(engines, alloc, Some(driver), false)?;
    let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots)?;
    let n = trace.ops.len() as u32;
    let t = Instant::now();
    let done = s.run(ops_ptr, n, slots_ptr)?;
    let warm = t.elapsed();
    if done != n {
        bail!("allocation failed at op {done} (warm-up run)");
    }
    let repeats = if warm > Duration::from_millis(300) || s.memory_bytes() > 512 << 20 {
        1
    } else {
        3
    };
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

/// Calls the allocator's export for one op, metered; updates the host's slot table.
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
    if op.kind != 1 {
        table[slot] = (ptr, op.size);
    }
    Ok(fuel)
}

/// Replays `trace` op by op from the host, with fuel measured around each call.
pub fn replay_per_call(engines: &Engines, alloc: &Compiled, trace: &Trace) -> Result<PerCall> {
    let mut s = Session::new(engines, alloc, None, true)?;
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
    use crate::traces::{Scale, Trace};

    /// A bump allocator in WAT; `overlap` makes every block start 8 bytes into the previous one,
    /// which the driver's checks must catch.
    fn bump_wat(overlap: bool) -> Vec<u8> {
        let step = if overlap {
            "(i32.const 8)".to_string()
        } else {
            "(i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -8))".to_string()
        };
        let src = format!(
            r#"(module
              (memory (export "memory") 1)
              (global $top (mut i32) (i32.const 1024))
              (func $alloc (export "allocate") (param $n i32) (result i32)
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
              (func (export "deallocate") (param i32))
              (func (export "reallocate") (param $p i32) (param $n i32) (result i32)
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

    #[test]
    fn driver_replays_a_sound_allocator() {
        let engines = Engines::new().unwrap();
        let driver = Compiled::new(&engines, &driver_wasm()).unwrap();
        let alloc = Compiled::new(&engines, &bump_wat(false)).unwrap();
        let trace = small_trace();
        match replay_fuel(&engines, &alloc, &driver, &trace, u64::MAX / 4).unwrap() {
            Replay::Done { fuel, memory } => assert!(fuel > 0 && memory > 0),
            _ => panic!("replay did not finish"),
        }
        let pc = replay_per_call(&engines, &alloc, &trace).unwrap();
        assert_eq!(pc.ops(), trace.ops.len() as u64);
        replay_time(&engines, &alloc, &driver, &trace).unwrap();
    }

    #[test]
    fn driver_traps_on_overlapping_blocks() {
        let engines = Engines::new().unwrap();
        let driver = Compiled::new(&engines, &driver_wasm()).unwrap();
        let alloc = Compiled::new(&engines, &bump_wat(true)).unwrap();
        let Err(e) = replay_fuel(&engines, &alloc, &driver, &small_trace(), u64::MAX / 4) else {
            panic!("the driver must trap when blocks overlap");
        };
        let trap = e.chain().find_map(|c| c.downcast_ref::<Trap>());
        assert_eq!(trap, Some(&Trap::UnreachableCodeReached), "{e:#}");
    }

    #[test]
    fn driver_reports_the_first_failed_allocation() {
        let engines = Engines::new().unwrap();
        let driver = Compiled::new(&engines, &driver_wasm()).unwrap();
        let alloc = Compiled::new(&engines, &bump_wat(false)).unwrap();
        let mut s = Session::new(&engines, &alloc, Some(&driver), false).unwrap();
        let trace = small_trace();
        let (ops_ptr, slots_ptr) = s.load_ops(&trace.ops, trace.slots).unwrap();
        s.cap_memory(s.memory_bytes());
        let at = s.run(ops_ptr, trace.ops.len() as u32, slots_ptr).unwrap();
        assert!(at > 0 && at < trace.ops.len() as u32, "stopped at {at}");
        assert_ne!(trace.ops[at as usize].kind, crate::traces::FREE);
    }
}
