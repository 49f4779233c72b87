//! The flavors: what binds the core to a module or a program. Which file builds into which module
//! is decided by cargo features; the rules are gathered in `src/lib.rs`, in one table.

#[cfg(target_arch = "wasm32")]
pub(crate) mod lock;
#[cfg(target_arch = "wasm32")]
pub(crate) mod wasm;

#[cfg(all(target_arch = "wasm32", feature = "module"))]
mod abi;
#[cfg_attr(
    not(all(target_arch = "wasm32", feature = "c-api", any(feature = "module", feature = "import-memory"))),
    allow(dead_code)
)]
pub(crate) mod c_api;
#[cfg_attr(not(all(target_arch = "wasm32", any(feature = "c-api", feature = "cabi-realloc"))), allow(dead_code))]
pub(crate) mod cabi;
#[cfg(all(target_arch = "wasm32", feature = "module", feature = "debug"))]
pub(crate) mod debug;
#[cfg(all(target_arch = "wasm32", any(feature = "module", feature = "import-memory")))]
mod exports;
#[cfg(all(target_arch = "wasm32", feature = "import-memory"))]
mod import_memory;
#[cfg(all(target_arch = "wasm32", feature = "static-pool"))]
pub(crate) mod static_pool;
#[cfg(all(target_arch = "wasm32", feature = "tiny"))]
mod tiny;
