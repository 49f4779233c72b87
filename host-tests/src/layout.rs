//! How a module gets its memory, found by [`probe`]:
//! - own memory (`wasm/wasmheap.wasm` and most flavors): no imports, exports `memory`; the heap
//!   sets itself up on first use;
//! - imported memory (`wasm/wasmheap-import-memory.wasm`): imports `env.memory` and exports
//!   `init(start, end) -> ok`; the host keeps `[0, start)` for itself and calls `init(start, 0)`:
//!   the heap runs from `start` to the end of memory and may grow it.

use crate::{ABI, engine};
use wasmtime::{ExternType, Module, ValType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Exports its own memory.
    Own,
    /// Imports `env.memory`; the host owns `[0, start)` and passes `start` to `init`.
    Imported { start: u32 },
}

/// Bytes of an imported memory the host keeps for itself below the heap's region.
pub const HOST_BYTES: u32 = 4096;

/// A module that passed [`probe`].
pub struct Probed {
    pub module: Module,
    pub layout: Layout,
}

/// The parameter and result count of export `name` if it is a function of `i32`s only.
fn i32_func(module: &Module, name: &str) -> Option<(usize, usize)> {
    let Some(ExternType::Func(f)) = module.get_export(name) else { return None };
    let all_i32 = f.params().chain(f.results()).all(|t| matches!(t, ValType::I32));
    all_i32.then(|| (f.params().len(), f.results().len()))
}

/// Compiles the module at `path` and checks that it exports the raw ABI; `Err` says why it
/// cannot be driven (and the soak skips it).
pub fn probe(path: &str) -> Result<Probed, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let module = Module::new(engine(), &bytes).map_err(|e| format!("does not compile: {e}"))?;
    for (name, params, results) in ABI {
        match (module.get_export(name), i32_func(&module, name)) {
            (None, _) => return Err(format!("does not export `{name}`: not the raw ABI")),
            (_, Some(shape)) if shape == (params, results) => {}
            _ => return Err(format!("export `{name}` has the wrong type")),
        }
    }
    let layout = layout_of(&module)?;
    Ok(Probed { module, layout })
}

/// Own memory, or `env.memory` imported with an `init(start, end)` to call.
fn layout_of(module: &Module) -> Result<Layout, String> {
    let imports: Vec<(String, bool)> = module
        .imports()
        .map(|i| (format!("{}.{}", i.module(), i.name()), matches!(i.ty(), ExternType::Memory(_))))
        .collect();
    let shared = module.imports().any(|i| matches!(i.ty(), ExternType::Memory(m) if m.is_shared()));
    match imports.as_slice() {
        // The harness gives a module a `Memory` of its store, grown under its limiter: a shared
        // memory is neither (tests/shared_memory.rs runs the shared flavor on threads).
        [(name, true)] if name == "env.memory" && shared => {
            Err("imports a shared env.memory: the threads flavor (tests/shared_memory.rs, the soak's threaded mode)"
                .into())
        }
        [] if matches!(module.get_export("memory"), Some(ExternType::Memory(_))) => Ok(Layout::Own),
        [] => Err("exports no `memory`".into()),
        [(name, true)] if name == "env.memory" => match i32_func(module, "init") {
            Some((2, _)) => Ok(Layout::Imported { start: HOST_BYTES }),
            _ => Err("imports env.memory but exports no init(start, end)".into()),
        },
        _ => {
            let names: Vec<&str> = imports.iter().map(|(n, _)| n.as_str()).collect();
            Err(format!("imports {}: only env.memory is supported", names.join(", ")))
        }
    }
}
