//! Other wasm modules as clients of a wasmheap instance: they import `memory` and the raw ABI
//! from it, linked with a wasmtime `Linker` under the module name "wasmheap" (README, "Ways in",
//! 2; wasm/FLAVORS.md, section 2).
//!
//! * the hand-written WAT clients of `host-tests/clients/`: a string builder that grows with
//!   `reallocate`, a level loader that releases whole levels with `free_to_mark`;
//! * clients generated with `wasm-encoder`: a recorded sequence of calls compiled into one
//!   function, run through the import ABI and compared, result by result and byte by byte, with
//!   the same calls made from the host.
//!
//! The C names as a client calls them: `c_names.rs`.

mod common;

use common::{Op, SLOTS, record, replay_direct};
use host_tests::{CALL_FUEL, Heap, State, engine};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, Function, FunctionSection, GlobalSection,
    GlobalType, ImportSection, InstructionSink, MemoryType, TypeSection, ValType::I32,
};
use wasmtime::{Instance, Linker, Module, TypedFunc, WasmParams, WasmResults};

/// The WAT client `host-tests/clients/NAME`, compiled and instantiated in the heap's store with
/// its imports taken from the heap's instance.
fn client(heap: &mut Heap, name: &str) -> Instance {
    let path = host_tests::repo_path("host-tests/clients").join(name);
    let bytes = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let module = Module::new(engine(), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut linker = Linker::new(engine());
    linker.instance(&mut heap.store, "wasmheap", heap.instance).expect("register the wasmheap instance");
    linker.instantiate(&mut heap.store, &module).expect("instantiate the client")
}

/// Calls a client's export with a fresh fuel budget.
fn call<P: WasmParams, R: WasmResults>(heap: &mut Heap, client: Instance, name: &str, args: P) -> R {
    let f: TypedFunc<P, R> =
        client.get_typed_func(&mut heap.store, name).unwrap_or_else(|e| panic!("client export `{name}`: {e}"));
    heap.store.set_fuel(CALL_FUEL).unwrap();
    f.call(&mut heap.store, args).unwrap_or_else(|e| panic!("client `{name}` trapped: {e:?}"))
}

// ---- the string builder ------------------------------------------------------------------------

#[test]
fn string_builder_grows_with_reallocate_and_hands_over_its_text() {
    let mut h = Heap::new();
    let c = client(&mut h, "string_builder.wat");
    let before = h.stats();

    let sb: u32 = call(&mut h, c, "sb_new", ());
    assert!(sb != 0);
    let mut expected = String::new();
    for i in 0..3000u32 {
        if i > 0 {
            assert_eq!(call::<_, u32>(&mut h, c, "sb_push", (sb, b',' as u32)), 1);
            expected.push(',');
        }
        let n = i.wrapping_mul(2_654_435_761);
        assert_eq!(call::<_, u32>(&mut h, c, "sb_push_u32", (sb, n)), 1);
        expected += &n.to_string();
    }
    // Appending from the heap's own memory: a block of the host's.
    let tail = b" -- the end";
    let src = h.allocate(tail.len() as u32);
    h.write(src, tail);
    assert_eq!(call::<_, u32>(&mut h, c, "sb_append", (sb, src, tail.len() as u32)), 1);
    h.deallocate(src);
    expected += " -- the end";

    let len: u32 = call(&mut h, c, "sb_len", sb);
    assert_eq!(len as usize, expected.len());
    let grows: u32 = call(&mut h, c, "sb_grows", sb);
    assert!(grows >= 10, "the buffer doubled from 16 bytes: {grows} reallocations");
    let s = h.stats();
    assert_eq!(s.reallocations - before.reallocations, grows);
    assert_eq!(s.live_blocks, 2, "the builder and its buffer");
    h.assert_sound();

    let text: u32 = call(&mut h, c, "sb_finish", sb);
    assert_eq!(h.size(text), len, "sb_finish shrinks the buffer to the text");
    assert_eq!(std::str::from_utf8(h.read(text, len)).unwrap(), expected);
    h.deallocate(text);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes), (0, 0));
    assert_eq!(s.rejected_frees, 0);
    h.assert_sound();
}

#[test]
fn str_upper_transforms_a_heap_string_in_place() {
    let mut h = Heap::new();
    let c = client(&mut h, "string_builder.wat");
    let text = "grüße, heap: 42 zebras";
    let p = h.allocate(text.len() as u32);
    h.write(p, text.as_bytes());
    let neighbour = h.alloc_filled(16, 0x61); // lower-case 'a' bytes right after the block
    let changed: u32 = call(&mut h, c, "str_upper", p);
    assert_eq!(std::str::from_utf8(h.read(p, text.len() as u32)).unwrap(), "GRüßE, HEAP: 42 ZEBRAS");
    assert_eq!(changed, 13, "the ASCII letters");
    h.assert_filled(neighbour, 16, 0x61); // it stopped at size(p)
    let bogus: u32 = call(&mut h, c, "str_upper", p + 8);
    assert_eq!(bogus, 0, "not a live block: size 0, nothing touched");
    h.assert_sound();
}

#[test]
fn string_builder_reports_out_of_memory_and_keeps_its_text() {
    let mut h = Heap::with_cap(4 << 20);
    let c = client(&mut h, "string_builder.wat");
    let sb: u32 = call(&mut h, c, "sb_new", ());
    // 1 KiB of text from a host block, appended until the 4 MiB cap stops the doubling.
    let chunk = h.alloc_filled(1024, b'x');
    let mut appended = 0u32;
    loop {
        let ok: u32 = call(&mut h, c, "sb_append", (sb, chunk, 1024));
        if ok == 0 {
            break;
        }
        appended += 1;
        assert!(appended < 8192, "the cap never stopped the builder");
    }
    assert!(appended >= 1024, "only {appended} KiB before running out");
    assert!(h.stats().failures >= 1);
    let len: u32 = call(&mut h, c, "sb_len", sb);
    assert_eq!(len, appended * 1024, "a failed append changes nothing");
    let ptr: u32 = call(&mut h, c, "sb_ptr", sb);
    h.assert_filled(ptr, len, b'x');
    h.assert_sound();
    call::<_, ()>(&mut h, c, "sb_free", sb);
    h.deallocate(chunk);
    assert_eq!(h.stats().live_blocks, 0);
    h.assert_sound();
}

// ---- the level loader --------------------------------------------------------------------------

#[test]
fn level_loader_releases_a_level_at_once_and_reuses_its_memory() {
    let mut h = Heap::new();
    let c = client(&mut h, "level_loader.wat");
    // Something the game keeps across levels, allocated before any mark.
    let save = h.alloc_filled(500, 0x5A);
    let base = h.stats();

    let l1: u32 = call(&mut h, c, "level_load", (1u32, 400u32));
    assert!(l1 != 0);
    assert_eq!(call::<_, u32>(&mut h, c, "level_verify", l1), 1);
    let s = h.stats();
    assert_eq!(s.live_blocks, base.live_blocks + 401, "the level table and 400 entities");
    assert_eq!(s.mark_depth, 1);
    h.assert_sound();
    let top_loaded = s.heap_top;

    call::<_, ()>(&mut h, c, "level_unload", l1);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes), (base.live_blocks, base.live_bytes));
    assert_eq!((s.mark_depth, s.heap_top), (0, base.heap_top), "memory goes back to the top");
    assert_eq!(s.frees - base.frees, 400, "only the scratch blocks were freed one by one");
    h.assert_filled(save, 500, 0x5A);
    h.assert_sound();

    // The next level of the same shape lands in the same memory.
    let l2: u32 = call(&mut h, c, "level_load", (1u32, 400u32));
    assert_eq!(l2, l1);
    assert_eq!(h.stats().heap_top, top_loaded);
    call::<_, ()>(&mut h, c, "level_unload", l2);
    h.assert_sound();
}

#[test]
fn level_loader_nests_levels_like_marks() {
    let mut h = Heap::new();
    let c = client(&mut h, "level_loader.wat");
    let base = h.stats();

    let world: u32 = call(&mut h, c, "level_load", (7u32, 300u32));
    let room: u32 = call(&mut h, c, "level_load", (8u32, 200u32));
    let closet: u32 = call(&mut h, c, "level_load", (9u32, 100u32));
    assert!(world != 0 && room != 0 && closet != 0);
    assert_eq!(h.stats().mark_depth, 3);
    for l in [world, room, closet] {
        assert_eq!(call::<_, u32>(&mut h, c, "level_verify", l), 1);
    }
    let room_entity: u32 = call(&mut h, c, "level_entity", (room, 0u32));

    call::<_, ()>(&mut h, c, "level_unload", closet);
    assert_eq!(call::<_, u32>(&mut h, c, "level_verify", room), 1);
    assert_eq!(call::<_, u32>(&mut h, c, "level_verify", world), 1);
    // Unloading the world takes the room with it: its mark was taken later.
    call::<_, ()>(&mut h, c, "level_unload", world);
    assert_eq!(h.size(room_entity), 0, "the room's entities are gone");
    let s = h.stats();
    assert_eq!((s.live_blocks, s.mark_depth, s.heap_top), (base.live_blocks, 0, base.heap_top));
    // The room's mark is stale now: unloading it again is rejected and changes nothing.
    call::<_, ()>(&mut h, c, "level_unload", room);
    assert_eq!(h.stats().rejected_marks, 1);
    h.assert_sound();
}

#[test]
fn level_loader_rolls_back_a_level_that_does_not_fit() {
    let mut h = Heap::with_cap(1 << 20);
    let c = client(&mut h, "level_loader.wat");
    let keep: u32 = call(&mut h, c, "level_load", (1u32, 1000u32));
    assert!(keep != 0);
    let before = h.stats();
    // ~64 bytes per entity: 100 000 of them do not fit in 1 MiB.
    let big: u32 = call(&mut h, c, "level_load", (2u32, 100_000u32));
    assert_eq!(big, 0, "the level does not fit");
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.mark_depth), (before.live_blocks, before.live_bytes, 1));
    assert!(s.failures > before.failures);
    assert_eq!(call::<_, u32>(&mut h, c, "level_verify", keep), 1);
    h.assert_sound();
}

// ---- a client generated with wasm-encoder: replay a recorded sequence of calls -------------------

/// The generated client's imported functions `(module, name, type)`, in the order of their
/// indices below; its own functions (`replay`, then one per chunk of calls) come after them.
const IMPORTS: [(&str, &str, u32); 9] = [
    ("host", "record", 2),
    ("wasmheap", "allocate", 0),
    ("wasmheap", "allocate_aligned", 1),
    ("wasmheap", "deallocate", 2),
    ("wasmheap", "reallocate", 1),
    ("wasmheap", "size", 0),
    ("wasmheap", "free_get_mark", 3),
    ("wasmheap", "free_to_mark", 2),
    ("wasmheap", "check", 3),
];
const RECORD: u32 = 0;
const ALLOCATE: u32 = 1;
const ALLOCATE_ALIGNED: u32 = 2;
const DEALLOCATE: u32 = 3;
const REALLOCATE: u32 = 4;
const SIZE: u32 = 5;
const GET_MARK: u32 = 6;
const TO_MARK: u32 = 7;
const CHECK: u32 = 8;
const REPLAY: u32 = IMPORTS.len() as u32;
/// The type of `replay` and of the chunks: `() -> ()`.
const NO_PARAMS: u32 = 4;
/// Calls per generated function: Cranelift's time grows faster than linearly with a function's
/// size, so `replay` calls one function per CHUNK calls, in order.
const CHUNK: usize = 100;

/// The client: imports the ABI from "wasmheap" and `host.record(i32)`; exports `replay()`, which
/// makes the calls of `ops` in order, records every result, and fills every new or moved block.
/// Slots and marks are globals.
fn replay_module(ops: &[Op]) -> Vec<u8> {
    let chunks = ops.len().div_ceil(CHUNK) as u32;
    let mut functions = FunctionSection::new();
    for _ in 0..=chunks {
        functions.function(NO_PARAMS);
    }
    let mut exports = ExportSection::new();
    exports.export("replay", ExportKind::Func, REPLAY);
    let mut code = CodeSection::new();
    let mut replay = Function::new([]);
    for i in 0..chunks {
        replay.instructions().call(REPLAY + 1 + i);
    }
    replay.instructions().end();
    code.function(&replay);
    let mut depth = 0u32;
    for chunk in ops.chunks(CHUNK) {
        let mut f = Function::new([(1, I32)]); // local 0: scratch
        let mut sink = f.instructions();
        for &op in chunk {
            emit_op(&mut sink, op, &mut depth);
        }
        sink.end();
        code.function(&f);
    }
    let mut module = wasm_encoder::Module::new();
    module.section(&client_types()).section(&client_imports());
    module.section(&functions).section(&slot_and_mark_globals());
    module.section(&exports).section(&code);
    module.finish()
}

fn client_types() -> TypeSection {
    let mut types = TypeSection::new();
    let sigs: [(&[_], &[_]); 6] = [
        (&[I32], &[I32]),      // 0: (i32) -> i32
        (&[I32, I32], &[I32]), // 1: (i32, i32) -> i32
        (&[I32], &[]),         // 2: (i32)
        (&[], &[I32]),         // 3: () -> i32
        (&[], &[]),            // 4: ()
        (&[I32, I32, I32], &[I32]),
    ];
    for (p, r) in sigs {
        types.ty().function(p.iter().copied(), r.iter().copied());
    }
    types
}

fn client_imports() -> ImportSection {
    let mut imports = ImportSection::new();
    for (module, name, ty) in IMPORTS {
        imports.import(module, name, EntityType::Function(ty));
    }
    let memory = MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None };
    imports.import("wasmheap", "memory", memory);
    imports
}

/// Globals 0..SLOTS: the slots; SLOTS..SLOTS+8: the marks by level (1-based: level l is global
/// SLOTS + l - 1).
fn slot_and_mark_globals() -> GlobalSection {
    let mut globals = GlobalSection::new();
    for _ in 0..SLOTS + 8 {
        let ty = GlobalType { val_type: I32, mutable: true, shared: false };
        globals.global(ty, &ConstExpr::i32_const(0));
    }
    globals
}

/// One recorded call; `depth` is the number of marks taken (it picks a new mark's global).
fn emit_op(sink: &mut InstructionSink, op: Op, depth: &mut u32) {
    match op {
        Op::Allocate { slot, size, fill } => {
            sink.i32_const(size as i32).call(ALLOCATE);
            sink.local_tee(0).global_set(slot).local_get(0).call(RECORD);
            fill_block(sink, fill, size);
        }
        Op::AllocateAligned { slot, size, align, fill } => {
            sink.i32_const(size as i32).i32_const(align as i32).call(ALLOCATE_ALIGNED);
            sink.local_tee(0).global_set(slot).local_get(0).call(RECORD);
            fill_block(sink, fill, size);
        }
        Op::Deallocate { slot } => {
            sink.global_get(slot).call(DEALLOCATE).i32_const(0).global_set(slot);
        }
        Op::Reallocate { slot, size, fill } => {
            sink.global_get(slot).i32_const(size as i32).call(REALLOCATE);
            sink.local_tee(0).call(RECORD);
            // The slot keeps the old block when reallocate fails.
            sink.local_get(0).if_(BlockType::Empty);
            sink.local_get(0).global_set(slot).end();
            fill_block(sink, fill, size);
        }
        Op::Size { slot } => {
            sink.global_get(slot).call(SIZE).call(RECORD);
        }
        Op::GetMark => {
            *depth += 1;
            sink.call(GET_MARK).local_tee(0).call(RECORD);
            sink.local_get(0).global_set(SLOTS + *depth - 1);
        }
        Op::ToMark { level } => {
            *depth = level - 1;
            sink.global_get(SLOTS + level - 1).call(TO_MARK);
        }
        Op::Check => {
            sink.call(CHECK).call(RECORD);
        }
    }
}

/// Fills the block in local 0 (if non-zero) with `fill`, `len` bytes.
fn fill_block(sink: &mut InstructionSink, fill: u8, len: u32) {
    sink.local_get(0).if_(BlockType::Empty);
    sink.local_get(0).i32_const(fill as i32).i32_const(len as i32).memory_fill(0);
    sink.end();
}

/// Runs the generated client against a fresh heap; returns what it recorded.
fn replay_through_imports(h: &mut Heap, ops: &[Op]) -> Vec<u32> {
    let module = Module::new(engine(), replay_module(ops)).expect("the generated client validates");
    let mut linker: Linker<State> = Linker::new(engine());
    linker.instance(&mut h.store, "wasmheap", h.instance).unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = log.clone();
    linker.func_wrap("host", "record", move |v: u32| sink.lock().unwrap().push(v)).unwrap();
    let client = linker.instantiate(&mut h.store, &module).unwrap();
    call::<_, ()>(h, client, "replay", ());
    log.lock().unwrap().clone()
}

#[test]
fn a_generated_client_replays_recorded_calls_exactly_as_the_host_makes_them() {
    // Compiling the generated code takes most of the time (wasmtime is built unoptimised).
    for seed in 1..=5u64 {
        let ops = record(seed, 1200);
        let mut direct = Heap::new();
        let expected = replay_direct(&mut direct, &ops);
        let mut linked = Heap::new();
        let got = replay_through_imports(&mut linked, &ops);
        assert_eq!(got.len(), expected.len(), "seed {seed}: number of results");
        if let Some(i) = got.iter().zip(&expected).position(|(a, b)| a != b) {
            panic!("seed {seed}: result {i} is {:#x} through the imports, {:#x} from the host", got[i], expected[i]);
        }
        assert!(expected.iter().filter(|&&r| r == 0).count() < expected.len() / 4);
        // Same calls, same heap: the memories are equal byte for byte, and so are the statistics.
        assert_eq!(linked.stats(), direct.stats(), "seed {seed}: statistics");
        let (a, b) = (linked.snapshot(), direct.snapshot());
        assert_eq!(a.len(), b.len(), "seed {seed}: memory size");
        let hs = direct.stats().heap_start as usize;
        if let Some(i) = (hs..a.len()).find(|&i| a[i] != b[i]) {
            panic!("seed {seed}: memory differs at {i:#x}");
        }
        linked.assert_sound();
        let s = linked.stats();
        assert!(s.allocations > 250 && s.frees > 80 && s.reallocations > 30, "seed {seed}: {s:?}");
    }
}

#[test]
fn the_import_abi_is_checked_by_the_validator() {
    // A client that imports `allocate` with the wrong signature cannot be linked.
    let bad = wat::parse_str(r#"(module (import "wasmheap" "allocate" (func (param i64) (result i32))))"#).unwrap();
    let module = Module::new(engine(), bad).unwrap();
    let mut h = Heap::new();
    let mut linker = Linker::new(engine());
    linker.instance(&mut h.store, "wasmheap", h.instance).unwrap();
    let Err(err) = linker.instantiate(&mut h.store, &module) else {
        panic!("a client importing `allocate` with the wrong type was linked")
    };
    assert!(format!("{err:#}").contains("allocate"), "{err:#}");
}
