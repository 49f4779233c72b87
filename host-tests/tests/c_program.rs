//! A C program compiled with clang to wasm32 that takes malloc, free, calloc, realloc,
//! aligned_alloc and posix_memalign from wasm/wasmheap-import-memory.wasm, sharing one memory:
//! host-tests/clients/c-program, built by scripts/test (stage "example clients") into
//! `$WASMHEAP_EXAMPLES_DIR/c_program.wasm` (default: target/examples).

mod common;

use common::Call;
use host_tests::{Layout, engine};
use std::path::PathBuf;
use wasmtime::{Instance, Linker, Memory, MemoryType, Module};

fn examples_dir() -> PathBuf {
    std::env::var_os("WASMHEAP_EXAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| host_tests::repo_path("target/examples"))
}

#[test]
fn a_c_program_links_its_allocator_from_the_import_memory_flavor() {
    if std::env::var_os("WASMHEAP_NO_CLANG").is_some() {
        eprintln!("SKIPPED: scripts/test found no clang/wasm-ld to build the C program (CI has them)");
        return;
    }
    let path = examples_dir().join("c_program.wasm");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nbuild it with scripts/test (needs clang and wasm-ld: apt-get install clang lld)",
            path.display()
        )
    });
    let program = Module::new(engine(), bytes).unwrap();
    let heap_module = Module::from_file(engine(), host_tests::repo_path("wasm/wasmheap-import-memory.wasm")).unwrap();

    let mut store = common::store();
    store.set_fuel(u64::MAX).unwrap();
    // The program's memory: its data and 64 KiB stack need 2 pages; the heap grows it.
    let memory = Memory::new(&mut store, MemoryType::new(2, None)).unwrap();
    let heap = Instance::new(&mut store, &heap_module, &[memory.into()]).unwrap();
    let mut linker = Linker::new(engine());
    linker.define(&mut store, "env", "memory", memory).unwrap();
    linker.instance(&mut store, "wasmheap", heap).unwrap();
    let c = linker.instantiate(&mut store, &program).unwrap();
    let setup = c.get_typed_func::<(), u32>(&mut store, "setup").unwrap();
    let run = c.get_typed_func::<u32, u32>(&mut store, "run").unwrap();
    let greeting = c.get_typed_func::<(), u32>(&mut store, "greeting").unwrap();

    assert_eq!(setup.call(&mut store, ()).unwrap(), 1, "wasmheap_init(&__heap_base, 0)");
    let text = b"hello from a C program that shares its memory with wasmheap\0";
    let g = greeting.call(&mut store, ()).unwrap() as usize;
    for rounds in [10u32, 500, 3000] {
        let code = run.call(&mut store, rounds).unwrap();
        assert_eq!(code, 0, "run({rounds}): check {code} of main.c failed");
        assert_eq!(&memory.data(&store)[g..g + text.len()], text, "the program's data");
    }
    let mut h = host_tests::Instance::from_parts(store, heap, memory, Layout::Imported { start: 0 });
    assert_eq!(h.call::<_, u32>("check", ()), 0);
    let s = h.scratch_stats();
    assert_eq!((s.live_blocks, s.live_bytes), (1, 64), "all freed but the stats block: {s:?}");
    assert!(s.memory_grows >= 1 && s.reallocations > 10 && s.mark_depth == 0, "{s:?}");
    assert!(s.heap_start as usize >= g + text.len() + 65536, "the heap is above the data and the stack");
}
