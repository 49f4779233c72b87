//! The replay driver: a wasm module generated with `wasm-encoder` that imports an allocator's
//! `allocate`/`deallocate`/`reallocate` (the raw ABI, [`Abi::Raw`]) or `malloc`/`free`/`realloc`
//! (C's, [`Abi::C`]) and `memory`, and replays an operation list inside wasm.
//!
//! The driver defines a second memory of its own (multi-memory), exported as `dmem`, that holds
//! the slot table (8 bytes a slot: pointer, requested size) and the operation list written by
//! the host (8 bytes an op: `kind << 28 | slot`, size). `run(ops_ptr, n, slots_ptr) -> i32`
//! replays ops `0..n` and returns `n`, or the index of the first op whose `allocate`/`reallocate`
//! returned 0. Every block is touched: its first and last word (bytes when it is smaller than a
//! word) are written with a per-slot tag, checked before it is freed or reallocated, and the
//! first word is checked again after `reallocate` (contents must survive). A mismatch traps
//! (`unreachable`). With [`Abi::C`] every pointer that `malloc` and `realloc` return must also be
//! 16-aligned (C's `alignof(max_align_t)` on wasm32), or the driver traps; the raw driver checks
//! no alignment (its code, and so its fuel, is as it always was).

use crate::trace::Op;
use wasm_encoder::{
    BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    InstructionSink, MemArg, MemArgTarget, MemorySection, MemoryType, Module, TypeSection, ValType,
};

/// Which functions of an allocator a replay calls, and the alignment it demands of them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Abi {
    /// `allocate`, `deallocate`, `reallocate`: 8-aligned blocks (not checked).
    Raw,
    /// `malloc`, `free`, `realloc`, as a C program calls them: every block 16-aligned (checked).
    C,
}

/// C's block alignment on wasm32: `alignof(max_align_t)` (clang, wasi-libc).
pub const C_ALIGN: u32 = 16;

impl Abi {
    /// The allocator's exports for alloc, free and realloc.
    pub fn exports(self) -> [&'static str; 3] {
        match self {
            Abi::Raw => ["allocate", "deallocate", "reallocate"],
            Abi::C => ["malloc", "free", "realloc"],
        }
    }

    /// The alignment the replay checks every returned pointer against, if any.
    pub fn checked_align(self) -> Option<u32> {
        match self {
            Abi::Raw => None,
            Abi::C => Some(C_ALIGN),
        }
    }
}

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
    MemArg { offset, align, target: MemArgTarget::Memory(memory_index), ordering: None }
}

/// `if size >= 4 { store32 [p] tag; store32 [p+size-4] tag } else if size != 0 { store8 .. }`
fn emit_touch(f: &mut InstructionSink, p: u32, size: u32) {
    f.local_get(size).i32_const(4).i32_ge_u().if_(BlockType::Empty);
    f.local_get(p).local_get(L_TAG).i32_store(mem(MEM_ALLOC, 0, 0));
    f.local_get(p).local_get(size).i32_add().i32_const(4).i32_sub();
    f.local_get(L_TAG).i32_store(mem(MEM_ALLOC, 0, 0));
    f.else_();
    f.local_get(size).if_(BlockType::Empty);
    f.local_get(p).local_get(L_TAG).i32_store8(mem(MEM_ALLOC, 0, 0));
    f.local_get(p).local_get(size).i32_add().i32_const(1).i32_sub();
    f.local_get(L_TAG).i32_store8(mem(MEM_ALLOC, 0, 0));
    f.end();
    f.end();
}

/// Loads the slot's pointer and size into `L_P` and `L_OLD`, and checks the block's first and last
/// words (what the free and realloc ops do first).
fn emit_load_slot_and_check(f: &mut InstructionSink) {
    f.local_get(L_SLOT_ADDR).i32_load(mem(MEM_DRIVER, 0, 2)).local_set(L_P);
    f.local_get(L_SLOT_ADDR).i32_load(mem(MEM_DRIVER, 4, 2)).local_set(L_OLD);
    emit_check(f, L_P, L_OLD, true);
}

/// Stores `L_P` and `L_SIZE` into the slot and writes the tag into the block (what the alloc and
/// realloc ops do last).
fn emit_store_slot_and_touch(f: &mut InstructionSink) {
    f.local_get(L_SLOT_ADDR).local_get(L_P).i32_store(mem(MEM_DRIVER, 0, 2));
    f.local_get(L_SLOT_ADDR).local_get(L_SIZE).i32_store(mem(MEM_DRIVER, 4, 2));
    emit_touch(f, L_P, L_SIZE);
}

/// Traps unless the first and (when `last`) the last word of the block hold the tag.
fn emit_check(f: &mut InstructionSink, p: u32, size: u32, last: bool) {
    f.local_get(size).i32_const(4).i32_ge_u().if_(BlockType::Empty);
    f.local_get(p).i32_load(mem(MEM_ALLOC, 0, 0)).local_get(L_TAG).i32_ne();
    if last {
        f.local_get(p).local_get(size).i32_add().i32_const(4).i32_sub();
        f.i32_load(mem(MEM_ALLOC, 0, 0)).local_get(L_TAG).i32_ne().i32_or();
    }
    f.if_(BlockType::Empty).unreachable().end();
    f.else_();
    f.local_get(size).if_(BlockType::Empty);
    f.local_get(p).i32_load8_u(mem(MEM_ALLOC, 0, 0));
    f.local_get(L_TAG).i32_const(0xff).i32_and().i32_ne();
    if last {
        f.local_get(p).local_get(size).i32_add().i32_const(1).i32_sub();
        f.i32_load8_u(mem(MEM_ALLOC, 0, 0));
        f.local_get(L_TAG).i32_const(0xff).i32_and().i32_ne().i32_or();
    }
    f.if_(BlockType::Empty).unreachable().end();
    f.end();
    f.end();
}

/// The driver module's bytes, for the allocator functions of `abi`.
pub fn driver_wasm(abi: Abi) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]); // 0: allocate
    types.ty().function([ValType::I32], []); // 1: deallocate
    types.ty().function([ValType::I32, ValType::I32], [ValType::I32]); // 2: reallocate
    types.ty().function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32]); // 3: run

    let mut imports = ImportSection::new();
    let [alloc, free, realloc] = abi.exports();
    imports.import("alloc", alloc, EntityType::Function(0));
    imports.import("alloc", free, EntityType::Function(1));
    imports.import("alloc", realloc, EntityType::Function(2));
    let any_memory = MemoryType { minimum: 0, maximum: None, memory64: false, shared: false, page_size_log2: None };
    imports.import("alloc", "memory", EntityType::Memory(any_memory));

    let mut functions = FunctionSection::new();
    functions.function(3);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, ..any_memory });
    let mut exports = ExportSection::new();
    exports.export("run", ExportKind::Func, 3);
    exports.export("dmem", ExportKind::Memory, MEM_DRIVER);
    let mut code = CodeSection::new();
    code.function(&run_function(abi.checked_align()));

    let mut module = Module::new();
    module.section(&types).section(&imports);
    module.section(&functions).section(&memories);
    module.section(&exports).section(&code);
    module.finish()
}

/// `run(ops_ptr, n, slots_ptr)`: for each op, read it, then branch on its kind. With `align`,
/// every pointer returned by an alloc or realloc is checked against it.
fn run_function(align: Option<u32>) -> Function {
    let mut func = Function::new([(8, ValType::I32)]);
    let mut f = func.instructions();
    // i = 0 (locals start at zero)
    f.block(BlockType::Empty); // $done
    f.loop_(BlockType::Empty); // $loop
    f.local_get(L_I).local_get(L_N).i32_ge_u().br_if(1);
    emit_read_op(&mut f);
    f.block(BlockType::Empty); // $next
    f.block(BlockType::Empty); // $realloc
    f.block(BlockType::Empty); // $free
    f.block(BlockType::Empty); // $alloc
    f.local_get(L_W).i32_const(28).i32_shr_u().br_table([0, 1, 2], 2);
    f.end();
    emit_alloc(&mut f, align);
    f.br(2); // -> $next
    f.end();
    emit_free(&mut f);
    f.br(1); // -> $next
    f.end();
    emit_realloc(&mut f, align);
    f.end(); // $next
    f.local_get(L_I).i32_const(1).i32_add().local_set(L_I);
    f.br(0);
    f.end(); // loop
    f.end(); // $done
    f.local_get(L_N);
    f.end();
    func
}

/// Op `i` into `L_W` (kind and slot) and `L_SIZE`; its slot's address into `L_SLOT_ADDR`, and
/// the slot's tag into `L_TAG`.
fn emit_read_op(f: &mut InstructionSink) {
    // op_addr = ops + i * 8; w = [op_addr]; size = [op_addr + 4]
    f.local_get(L_OPS).local_get(L_I).i32_const(3).i32_shl().i32_add().local_tee(L_OP_ADDR);
    f.i32_load(mem(MEM_DRIVER, 0, 2)).local_set(L_W);
    f.local_get(L_OP_ADDR).i32_load(mem(MEM_DRIVER, 4, 2)).local_set(L_SIZE);
    // slot_addr = slots + (w & 0x0fffffff) * 8
    f.local_get(L_SLOTS);
    f.local_get(L_W).i32_const(0x0fff_ffff).i32_and().i32_const(3).i32_shl().i32_add();
    f.local_set(L_SLOT_ADDR);
    // tag = (((slot * 0x9E3779B1) >> 24) | 1) * 0x01010101: a byte repeated, so that the
    // overlapping first and last words of a 4..7-byte block agree.
    f.local_get(L_W).i32_const(0x0fff_ffff).i32_and().i32_const(0x9E37_79B1_u32 as i32).i32_mul();
    f.i32_const(24).i32_shr_u().i32_const(1).i32_or().i32_const(0x0101_0101).i32_mul();
    f.local_set(L_TAG);
}

/// Traps unless `L_P` is a multiple of `align` (nothing without `align`).
fn emit_align_check(f: &mut InstructionSink, align: Option<u32>) {
    if let Some(align) = align {
        f.local_get(L_P).i32_const((align - 1) as i32).i32_and();
        f.if_(BlockType::Empty).unreachable().end();
    }
}

/// alloc: p = allocate(size); on failure return i; check p's alignment (C), store the slot and
/// tag the block.
fn emit_alloc(f: &mut InstructionSink, align: Option<u32>) {
    f.local_get(L_SIZE).call(F_ALLOCATE).local_tee(L_P).i32_eqz();
    f.if_(BlockType::Empty).local_get(L_I).return_().end();
    emit_align_check(f, align);
    emit_store_slot_and_touch(f);
}

/// free: check the block's tags, deallocate.
fn emit_free(f: &mut InstructionSink) {
    emit_load_slot_and_check(f);
    f.local_get(L_P).call(F_DEALLOCATE);
}

/// realloc: check, p = reallocate(p, size) (on failure return i), check p's alignment (C), check
/// that the first word survived, store the slot and tag the block.
fn emit_realloc(f: &mut InstructionSink, align: Option<u32>) {
    emit_load_slot_and_check(f);
    f.local_get(L_P).local_get(L_SIZE).call(F_REALLOCATE).local_tee(L_P).i32_eqz();
    f.if_(BlockType::Empty).local_get(L_I).return_().end();
    emit_align_check(f, align);
    // old = min(old, size)
    f.local_get(L_OLD).local_get(L_SIZE).local_get(L_OLD).local_get(L_SIZE).i32_lt_u().select();
    f.local_set(L_OLD);
    emit_check(f, L_P, L_OLD, false);
    emit_store_slot_and_touch(f);
}

/// One op as the driver reads it from its memory: `kind << 28 | slot`, then the size (little
/// endian).
pub fn op_bytes(op: &Op) -> [u8; 8] {
    let w = ((op.kind as u32) << 28) | op.slot;
    let mut b = [0; 8];
    b[..4].copy_from_slice(&w.to_le_bytes());
    b[4..].copy_from_slice(&op.size.to_le_bytes());
    b
}
