//! The module exports the whole raw ABI (src/CONTRACT.md, "The raw ABI"), every value an `i32`, and
//! needs no imports.

use host_tests::{ABI, module};
use wasmtime::{ExternType, ValType};

#[test]
fn every_export_of_the_raw_abi_is_there_with_its_signature() {
    let m = module();
    assert_eq!(m.imports().len(), 0, "the module must need no imports");
    assert!(matches!(m.get_export("memory"), Some(ExternType::Memory(_))), "`memory` is not exported");
    let mut missing = Vec::new();
    for (name, params, results) in ABI {
        match m.get_export(name) {
            Some(ExternType::Func(f)) => {
                let p: Vec<ValType> = f.params().collect();
                let r: Vec<ValType> = f.results().collect();
                assert_eq!(p.len(), params, "`{name}` takes {} parameters", p.len());
                assert_eq!(r.len(), results, "`{name}` returns {} results", r.len());
                for t in p.iter().chain(&r) {
                    assert!(matches!(t, ValType::I32), "`{name}` has a {t} in its signature");
                }
            }
            Some(other) => panic!("`{name}` is exported as {other:?}, not a function"),
            None => missing.push(name),
        }
    }
    assert!(missing.is_empty(), "exports missing: {missing:?}");
}

/// The hot calls read the root without testing first whether the heap is set up (a zero root
/// reads as an empty heap): the records (the root and segment 0's record) must lie inside the
/// memory a fresh instance has, so that those reads cannot trap. They are a static of the module,
/// below `__heap_base`, where the blocks begin (for the static flavor: at the start of its pool).
#[test]
fn the_records_lie_inside_the_initial_memory_below_the_blocks() {
    let mut store = wasmtime::Store::new(host_tests::engine(), ());
    store.set_fuel(u64::MAX).unwrap();
    let instance = wasmtime::Instance::new(&mut store, module(), &[]).expect("instantiate");
    let heap_base =
        instance.get_global(&mut store, "__heap_base").expect("`__heap_base` is exported").get(&mut store).unwrap_i32()
            as u32;
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    let initial = memory.data_size(&store) as u32;
    // a hot call on the fresh instance reads the records: it must not trap
    let size = instance.get_typed_func::<u32, u32>(&mut store, "size").expect("size");
    assert_eq!(size.call(&mut store, heap_base + 16).expect("size() on a fresh instance"), 0);
    // stats() sets the heap up and says where the records are
    let stats = instance.get_typed_func::<u32, ()>(&mut store, "stats").expect("stats");
    stats.call(&mut store, 0).expect("stats(0)");
    let heap_start = u32::from_le_bytes(memory.data(&store)[56..60].try_into().unwrap());
    let records = heap_start + wasmheap::RECORDS_SIZE;
    assert!(records <= initial, "records end at {records:#x}, the initial memory at {initial:#x}");
    assert!(records <= heap_base, "records end at {records:#x}, after __heap_base {heap_base:#x}");
}
