//! `discard_free_pages` refuses what it cannot do safely, with a clear error and nothing changed:
//! an instance that is not wasmheap, one without an exported memory, a shared memory, a memory
//! that is not an mmap of its own; and it works on the import-memory flavor's region and the debug
//! flavor (which lists nothing).

use std::sync::Arc;
use wasmheap_wasmtime::{discard_free_pages, discard_free_pages_in};
use wasmtime::{
    Config, Engine, Instance, LinearMemory, Memory, MemoryCreator, MemoryType, Module, Result, SharedMemory, Store,
    format_err,
};

fn wasm(name: &str) -> String {
    format!("{}/../../wasm/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn instance(engine: &Engine, file: &str) -> (Store<()>, Instance) {
    let module = Module::from_file(engine, wasm(file)).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Allocates and frees a large block, so that the heap has pages to list.
fn spike(store: &mut Store<()>, instance: &Instance) {
    let allocate = instance.get_typed_func::<u32, u32>(&mut *store, "allocate").unwrap();
    let deallocate = instance.get_typed_func::<u32, ()>(&mut *store, "deallocate").unwrap();
    let p = allocate.call(&mut *store, 4 << 20).unwrap();
    assert_ne!(p, 0);
    let _pin = allocate.call(&mut *store, 16).unwrap();
    deallocate.call(&mut *store, p).unwrap();
}

fn check(store: &mut Store<()>, instance: &Instance) -> u32 {
    instance.get_typed_func::<(), u32>(&mut *store, "check").unwrap().call(store, ()).unwrap()
}

#[track_caller]
fn assert_refused(result: Result<u64>, says: &str) {
    match result {
        Err(e) => assert!(format!("{e}").contains(says), "the error `{e}` does not say `{says}`"),
        Ok(bytes) => panic!("discarded {bytes} bytes instead of refusing ({says})"),
    }
}

#[test]
fn a_wasmheap_instance_gives_its_free_pages_back() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine, "wasmheap.wasm");
    spike(&mut store, &instance);
    let bytes = discard_free_pages(&mut store, &instance).unwrap();
    assert!(bytes >= (4 << 20) - 8192 && bytes % 4096 == 0, "{bytes}");
    assert_eq!(check(&mut store, &instance), 0);
    // the freed block's pages read as zero now
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let zero_pages = memory.data(&store).chunks(4096).filter(|p| p.iter().all(|&b| b == 0)).count();
    assert!(zero_pages as u64 * 4096 >= bytes, "{zero_pages} zero pages after dropping {bytes} bytes");
}

#[test]
fn an_instance_that_is_not_wasmheap_is_refused() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (memory (export "memory") 1) (data (i32.const 0) "hello"))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_refused(discard_free_pages(&mut store, &instance), "not a wasmheap instance");
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(&memory.data(&store)[..5], b"hello");
    // the tiny flavor has no `discardable` either
    let (mut store, tiny) = self::instance(&engine, "wasmheap-tiny.wasm");
    assert_refused(discard_free_pages(&mut store, &tiny), "no `discardable` export");
}

#[test]
fn the_debug_flavor_lists_nothing() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine, "wasmheap-debug.wasm");
    spike(&mut store, &instance);
    assert_eq!(discard_free_pages(&mut store, &instance).unwrap(), 0);
    assert_eq!(check(&mut store, &instance), 0, "the poison is intact");
}

#[test]
fn the_import_memory_flavor_needs_its_memory_named() {
    let engine = Engine::default();
    let module = Module::from_file(&engine, wasm("wasmheap-import-memory.wasm")).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(2, None)).unwrap();
    let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
    let init = instance.get_typed_func::<(u32, u32), u32>(&mut store, "init").unwrap();
    assert_eq!(init.call(&mut store, (65536, 0)).unwrap(), 1);
    spike(&mut store, &instance);
    assert_refused(discard_free_pages(&mut store, &instance), "exports no `memory`");
    let bytes = discard_free_pages_in(&mut store, &instance, memory).unwrap();
    assert!(bytes >= (4 << 20) - 8192, "{bytes}");
    assert_eq!(check(&mut store, &instance), 0);
    // below the region (the host's first page, the heap's stack) nothing was dropped
    memory.data_mut(&mut store)[..4096].fill(7);
    discard_free_pages_in(&mut store, &instance, memory).unwrap();
    assert!(memory.data(&store)[..4096].iter().all(|&b| b == 7));
}

/// A host memory in a `Vec`, 8 bytes into it: not a mapping of its own.
struct VecMemory {
    buffer: Vec<u64>,
    size: usize,
}

// SAFETY: the buffer never moves (it is allocated at its capacity once) and `as_ptr` points at
// `byte_capacity` bytes of it.
unsafe impl LinearMemory for VecMemory {
    fn byte_size(&self) -> usize {
        self.size
    }
    fn byte_capacity(&self) -> usize {
        self.buffer.len() * 8 - 8
    }
    fn grow_to(&mut self, new_size: usize) -> Result<()> {
        if new_size > self.byte_capacity() {
            return Err(format_err!("the host memory is full"));
        }
        self.size = new_size;
        Ok(())
    }
    fn as_ptr(&self) -> *mut u8 {
        // 8 bytes in: never page-aligned, whatever the allocator gave
        self.buffer.as_ptr().wrapping_add(1) as *mut u8
    }
}

struct VecCreator;

// SAFETY: each memory is a buffer of its own, of the capacity asked for or more.
unsafe impl MemoryCreator for VecCreator {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        _maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> std::result::Result<Box<dyn LinearMemory>, String> {
        let capacity = reserved.unwrap_or(0).max(minimum).max(16 << 20) + guard + 8;
        Ok(Box::new(VecMemory { buffer: vec![0; capacity.div_ceil(8)], size: minimum }))
    }
}

#[test]
fn a_memory_that_is_not_its_own_mmap_is_refused_and_nothing_changes() {
    let mut config = Config::new();
    config.with_host_memory(Arc::new(VecCreator)).memory_reservation(0).memory_guard_size(0);
    config.memory_reservation_for_growth(16 << 20);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = instance(&engine, "wasmheap.wasm");
    spike(&mut store, &instance);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let before = memory.data(&store).to_vec();
    assert_refused(discard_free_pages(&mut store, &instance), "not mmap-backed");
    assert!(memory.data(&store) == &before[..], "memory changed");
    assert_eq!(check(&mut store, &instance), 0);
}

#[test]
fn a_shared_memory_is_refused_and_nothing_changes() {
    let mut config = Config::new();
    config.wasm_threads(true).shared_memory(true);
    let engine = Engine::new(&config).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    // SAFETY: no other thread has this memory; the bytes are written before any instance runs.
    unsafe { *memory.data()[100].get() = 7 };
    // the shared flavor's shape: the memory imported shared (here exported too, as a module that
    // re-exports it would), and the raw ABI's `discardable` beside it
    let module = Module::new(
        &engine,
        r#"(module (import "env" "memory" (memory 1 1 shared)) (export "memory" (memory 0))
             (func (export "discardable") (param i32 i32 i32 i32) (result i32) (i32.store (i32.const 100) (i32.const 0)) (i32.const 0)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[memory.clone().into()]).unwrap();
    assert_refused(discard_free_pages(&mut store, &instance), "shared");
    // SAFETY: as above; the instance is idle.
    assert_eq!(unsafe { *memory.data()[100].get() }, 7, "the module's `discardable` was not called");
}
