//! The module under test: one fuel-metered wasmtime `Engine` and one compiled `Module` per
//! process, what its exports are, and which flavor it is.

use crate::{read_repo_file, repo_path};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use wasmtime::{Config, Engine, Module};

/// Size of a wasm page.
pub const PAGE: u32 = 65536;

/// Every export of the raw ABI, as (name, parameter count, result count).
pub const ABI: [(&str, usize, usize); 12] = [
    ("allocate", 1, 1),
    ("allocate_aligned", 2, 1),
    ("deallocate", 1, 0),
    ("reallocate", 2, 1),
    ("size", 1, 1),
    ("free_all", 0, 0),
    ("free_all_mark", 0, 0),
    ("free_get_mark", 0, 1),
    ("free_to_mark", 1, 0),
    ("check", 0, 1),
    ("stats", 1, 0),
    ("discardable", 4, 1),
];

/// The C names that `wasm/wasmheap-c.wasm` and the import-memory flavor export beside the raw ABI
/// (and the component model's `cabi_realloc`).
pub const C_NAMES: [(&str, usize, usize); 7] = [
    ("malloc", 1, 1),
    ("free", 1, 0),
    ("calloc", 2, 1),
    ("realloc", 2, 1),
    ("aligned_alloc", 2, 1),
    ("posix_memalign", 3, 1),
    ("cabi_realloc", 4, 1),
];

/// The process-wide engine, with fuel metering on (every host binary and test shares it).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(true);
        Engine::new(&config).expect("create wasmtime engine")
    })
}

/// The module to test: `$WASMHEAP_WASM` if set (another build or flavor), else
/// `wasm/wasmheap.wasm` of this repository.
pub fn wasm_path() -> String {
    std::env::var("WASMHEAP_WASM").unwrap_or_else(|_| repo_path("wasm/wasmheap.wasm").display().to_string())
}

/// The bytes of the module under test (see [`wasm_path`]).
pub fn wasm_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = wasm_path();
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e} (build it with scripts/build)"))
    })
}

/// The compiled module, built once per process.
pub fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| Module::new(engine(), wasm_bytes()).expect("compile wasmheap.wasm"))
}

/// A module of the repository: its bytes and its compiled form.
pub struct Compiled {
    pub bytes: Vec<u8>,
    pub module: Module,
}

/// The module at `relative` in the repository (e.g. "wasm/wasmheap-tiny.wasm"), read and compiled
/// once per process: the tests of a flavor share it.
pub fn repo_module(relative: &str) -> &'static Compiled {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static Compiled>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    cache.entry(relative.to_string()).or_insert_with(|| {
        let bytes = read_repo_file(relative);
        let module = Module::new(engine(), &bytes).unwrap_or_else(|e| panic!("compile {relative}: {e}"));
        // Kept for the rest of the process, as the module under test is.
        Box::leak(Box::new(Compiled { bytes, module }))
    })
}

/// Whether the code of `wasm` executes `memory.grow` anywhere (any function, any memory).
pub fn has_memory_grow(wasm: &[u8]) -> bool {
    use wasmparser::{Operator, Parser, Payload};
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.expect("parse the module") {
            let mut ops = body.get_operators_reader().expect("read a function body");
            while !ops.eof() {
                if let Operator::MemoryGrow { .. } = ops.read().expect("read an instruction") {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether the module under test is a fixed pool that never grows memory (the static flavor,
/// `wasm/wasmheap-static.wasm`): its code has no `memory.grow`. The suite's tests that count on
/// growth check the pool's behaviour instead when this is true.
pub fn static_pool() -> bool {
    static STATIC: OnceLock<bool> = OnceLock::new();
    *STATIC.get_or_init(|| !has_memory_grow(wasm_bytes()))
}

/// Whether the module under test is the debug flavor (`wasm/wasmheap-debug.wasm`: it exports
/// `debug_buffer`). Its allocations are [`DEBUG_EXTRA`] bytes larger inside (canary, id, tag):
/// tests that count bytes of blocks use [`block_of`].
pub fn debug_flavor() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| module().get_export("debug_buffer").is_some())
}

/// Bytes the debug flavor adds to every request (src/flavors/debug/mod.rs).
pub const DEBUG_EXTRA: u32 = 12;

/// The size of the block that holds a request of `request` bytes in the module under test.
pub fn block_of(request: u32) -> u32 {
    let extra = if debug_flavor() { DEBUG_EXTRA } else { 0 };
    ((request + extra + 8 + 7) & !7).max(16)
}
