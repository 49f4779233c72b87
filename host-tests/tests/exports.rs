//! The module exports the whole raw ABI (README.md, "The raw ABI"), every value an `i32`, and
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
