//! `wasmheap::WasmHeap` as the `#[global_allocator]` of a Rust program compiled to
//! wasm32-unknown-unknown: host-tests/clients/global-alloc, built by scripts/test (stage
//! "example clients") into `$WASMHEAP_EXAMPLES_DIR` (default: target/examples).
//!
//! The program's workload (Vec, String, HashMap, BTreeMap, over-aligned Box churn) is compiled
//! here natively as well: both must compute the same checksum, and afterwards the heap must be
//! sound and empty.

#[path = "../clients/global-alloc/src/workload.rs"]
mod workload;

use host_tests::engine;
use std::path::PathBuf;
use wasmtime::{Instance, Module, Store};

pub fn examples_dir() -> PathBuf {
    std::env::var_os("WASMHEAP_EXAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| host_tests::repo_path("target/examples"))
}

fn program() -> Module {
    let path = examples_dir().join("wasm32-unknown-unknown/release/global_alloc_example.wasm");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nbuild it with scripts/test, or: cd host-tests/clients/global-alloc && \
             RUSTFLAGS= CARGO_TARGET_DIR=../../../target/examples cargo build --release --target wasm32-unknown-unknown",
            path.display()
        )
    });
    Module::new(engine(), bytes).unwrap()
}

#[test]
fn a_rust_program_with_wasmheap_as_global_allocator_runs_and_leaves_a_sound_empty_heap() {
    let module = program();
    assert_eq!(module.imports().len(), 0, "the program needs no imports");
    let mut store = Store::new(engine(), ());
    store.set_fuel(u64::MAX).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance.get_typed_func::<(u32, u32), u64>(&mut store, "run").unwrap();
    let check = instance.get_typed_func::<(), u32>(&mut store, "check").unwrap();
    let stat = instance.get_typed_func::<u32, u32>(&mut store, "stat").unwrap();
    let stats = |store: &mut Store<()>| -> host_tests::Stats {
        let mut w = [0u32; 16];
        for (i, w) in w.iter_mut().enumerate() {
            *w = stat.call(&mut *store, i as u32).unwrap();
        }
        host_tests::Stats::from_words(w)
    };
    let heap_base = {
        let g = instance.get_global(&mut store, "__heap_base").unwrap();
        g.get(&mut store).i32().unwrap() as u32
    };

    let mut allocations = 0;
    for seed in 1..=4u32 {
        let got = run.call(&mut store, (seed, 4000)).unwrap();
        let expected = workload::workload(seed, 4000);
        assert_eq!(got, expected, "seed {seed}: the wasm program and the native one disagree");
        assert_eq!(check.call(&mut store, ()).unwrap(), 0, "seed {seed}: check()");
        let s = stats(&mut store);
        assert_eq!((s.live_blocks, s.live_bytes), (0, 0), "seed {seed}: everything was dropped");
        assert!(s.allocations > allocations + 1000, "seed {seed}: {s:?}");
        allocations = s.allocations;
        assert!(s.reallocations > 100 && s.memory_grows >= 1 && s.peak_bytes > 100_000, "{s:?}");
        assert_eq!((s.failures, s.rejected_frees), (0, 0), "{s:?}");
        // the records are a static of the program, inside its data; the blocks above it
        assert!(
            s.heap_start + wasmheap::RECORDS_SIZE <= heap_base,
            "the records ({:#x}) lie below __heap_base ({heap_base:#x})",
            s.heap_start
        );
        assert!(s.heap_top > heap_base, "the blocks lie above __heap_base");
    }
}

#[test]
fn alloc_zeroed_clears_reused_memory_and_not_memory_fresh_from_memory_grow() {
    let module = program();
    let mut store = Store::new(engine(), ());
    store.set_fuel(u64::MAX).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let zeroed_alloc = instance.get_typed_func::<u32, u32>(&mut store, "zeroed_alloc").unwrap();
    let zeroed_free = instance.get_typed_func::<(u32, u32), ()>(&mut store, "zeroed_free").unwrap();
    let dirty = instance.get_typed_func::<u32, ()>(&mut store, "dirty").unwrap();
    let check = instance.get_typed_func::<(), u32>(&mut store, "check").unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    const N: u32 = 4 << 20;
    let all_zero =
        |store: &Store<()>, ptr: u32| memory.data(store)[ptr as usize..(ptr + N) as usize].iter().all(|&b| b == 0);
    let fuel_of = |store: &mut Store<()>, f: &dyn Fn(&mut Store<()>) -> u32| {
        let before = store.get_fuel().unwrap();
        let r = f(store);
        (r, before - store.get_fuel().unwrap())
    };

    // 4 MiB on a fresh instance: carved at the top, most of it in pages that memory.grow adds
    // during the call. Clearing it all would cost a unit of fuel per byte (memory.fill).
    let pages = memory.size(&store);
    let (fresh, fuel) = fuel_of(&mut store, &|s| zeroed_alloc.call(s, N).unwrap());
    assert!(fresh != 0 && memory.size(&store) > pages);
    assert!(all_zero(&store, fresh));
    assert!(fuel < u64::from(N) / 4, "fresh memory is not cleared again: {fuel} fuel for {N} bytes");
    zeroed_free.call(&mut store, (fresh, N)).unwrap();

    // The same block dirtied and freed: reused, so cleared in full.
    dirty.call(&mut store, N).unwrap();
    let (reused, fuel) = fuel_of(&mut store, &|s| zeroed_alloc.call(s, N).unwrap());
    assert_eq!(reused, fresh, "the freed block is reused");
    assert!(all_zero(&store, reused));
    assert!(fuel >= u64::from(N), "reused memory is cleared: {fuel} fuel for {N} bytes");
    zeroed_free.call(&mut store, (reused, N)).unwrap();
    assert_eq!(check.call(&mut store, ()).unwrap(), 0);
}
