//! The module exports the whole raw ABI (src/CONTRACT.md, "The raw ABI"), every value an `i32`, and
//! needs no imports.

use host_tests::{ABI, module};
use wasmtime::{ExternType, ValType};

#[test]
fn every_export_of_the_raw_abi_is_there_with_its_signature() {
    let m = module();
    assert_eq!(m.imports().len(), 0, "the module must need no imports");
    assert!(
        matches!(m.get_export("memory"), Some(ExternType::Memory(_))),
        "`memory` is not exported"
    );
    let mut missing = Vec::new();
    for (name, params, results) in ABI {
        match m.get_export(name) {
            Some(ExternType::Func(f)) => {
                let p: Vec<ValType> = f.params().collect();
                let r: Vec<ValType> = f.results().collect();
                assert_eq!(p.len(), params, "`{name}` takes {} parameters", p.len());
                assert_eq!(r.len(), results, "`{name}` returns {} results", r.len());
                for t in p.iter().chain(&r) {
                    assert!(
                        matches!(t, ValType::I32),
                        "`{name}` has a {t} in its signature"
                    );
                }
            }
            Some(other) => panic!("`{name}` is exported as {other:?}, not a function"),
            None => missing.push(name),
        }
    }
    assert!(missing.is_empty(), "exports missing: {missing:?}");
}

/// The hot calls read the root at `__heap_base` without testing first whether the heap is set up
/// (a zero root reads as an empty heap): the root and segment 0's record must lie inside the
/// memory a fresh instance has, so that those reads cannot trap.
#[test]
fn the_root_and_the_first_segment_record_lie_inside_the_initial_memory() {
    let mut store = wasmtime::Store::new(host_tests::engine(), ());
    let instance = wasmtime::Instance::new(&mut store, module(), &[]).expect("instantiate");
    let heap_base = instance
        .get_global(&mut store, "__heap_base")
        .expect("`__heap_base` is exported")
        .get(&mut store)
        .unwrap_i32() as u32;
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    let initial = memory.data_size(&store) as u32;
    let records = heap_base.next_multiple_of(8) + wasmheap::ROOT_SIZE + wasmheap::CONTROL_SIZE;
    assert!(records <= initial, "records end at {records:#x}, the initial memory at {initial:#x}");
}
