//! wasmheap: a small, fast allocator for WebAssembly linear memory.
//!
//! The core ([`Heap`]) is platform-free: it manages a region of memory handed to it by a
//! [`Source`] (`memory.grow` in the module, a host buffer in the native unit tests), in `u32`
//! offsets, and is unit-tested natively. On wasm32 the crate also provides the raw ABI exports
//! (feature `module`, see `abi.rs`) and `WasmHeap` for `#[global_allocator]`.
//!
//! Two folders: `src/core/` is the allocator (reading order: `block.rs` for the layout, `classes.rs`,
//! `segment.rs`, `heap.rs` for the algorithm, `marks.rs`, `check.rs`, `stats.rs`); `src/flavors/`
//! binds it to the modules and programs (`wasm.rs` for `WasmHeap`, `abi.rs` with the table of
//! exports in `exports.rs`, the C names, import-memory, the static pool, tiny, debug).
//!
//! Below: the contract (`src/CONTRACT.md`), then the design (`src/DESIGN.md`). The README has the
//! ways in, the modules and the numbers.
//!
#![doc = include_str!("CONTRACT.md")]
#![doc = include_str!("DESIGN.md")]
#![no_std]

// Native builds (unit tests, host tools) take std's panic handler.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

mod core;
mod flavors;

pub use self::core::block;
pub use self::core::check::Broken;
pub use self::core::discard::Range;
pub use self::core::heap::{CONTROL_SIZE, Heap, MAX_ALIGN, MAX_DEPTH, RECORDS_SIZE, ROOT_SIZE};
pub use self::core::mem::Mem;
pub use self::core::source;
pub use self::core::source::{Pool, Source};
pub use self::core::stats::Stats;
#[cfg(target_arch = "wasm32")]
pub use flavors::wasm::WasmHeap;

// Which features build what: each module of wasm/ is one set of features (scripts/build), and the
// combinations that would build two modules at once, or none, stop here.
//
// | feature         | builds                               | with                      | not with                         |
// | --------------- | ------------------------------------ | ------------------------- | -------------------------------- |
// | `module`        | wasmheap.wasm: the raw ABI exports   | `c-api`, `static-pool`, `debug` | `import-memory`, `tiny`    |
// | `import-memory` | wasmheap-import-memory.wasm (+ shim) | `c-api`                   | `module`, `static-pool`, `tiny`  |
// | `c-api`         | the C names (malloc, free, ...)      | `module` or `import-memory` | `debug`                        |
// | `static-pool`   | wasmheap-static.wasm: a fixed pool   | `module`                  | `import-memory`, `debug`         |
// | `debug`         | wasmheap-debug.wasm                  | `module` alone            | everything else                  |
// | `tiny`          | wasmheap-tiny.wasm (its own core)    | nothing                   | `module`, `import-memory`        |
// | `cabi-realloc`  | `cabi_realloc` in a Rust program     | (the crate alone)         | `module`, `import-memory`, `tiny` |
// | (none)          | the crate: `Heap`, `WasmHeap`        |                           |                                  |
//
// Threads: a wasm32 build with `+atomics` gets `WasmHeap` with a lock (`src/flavors/lock.rs`).
// It needs the `atomics` cfg, which only nightly rustc shows (with `-Z build-std`, which such a
// build needs anyway); `build.rs` sees the flag where stable hides it (`wasmheap_atomics`). The
// modules have no lock of their own: their threads flavor is wasm/wasmheap-shared.wasm.
#[cfg(all(wasmheap_atomics, not(target_feature = "atomics")))]
compile_error!(
    "wasmheap: a wasm32 build with `+atomics` (shared memory, threads) needs nightly rustc, whose \
     `cfg(target_feature = \"atomics\")` turns on WasmHeap's lock: build with `cargo +nightly` and \
     `-Z build-std=panic_abort,std` (or `core,alloc`)."
);
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "atomics",
    any(feature = "module", feature = "import-memory", feature = "tiny")
))]
compile_error!(
    "wasmheap: the modules (features `module`, `import-memory`, `tiny`) are single-threaded; for \
     threads use wasm/wasmheap-shared.wasm, or WasmHeap as the global allocator (no features)."
);
#[cfg(all(feature = "debug", any(not(feature = "module"), feature = "c-api", feature = "static-pool")))]
compile_error!("feature `debug` builds wasm/wasmheap-debug.wasm: with `module` alone (no `c-api`, no `static-pool`)");
#[cfg(all(feature = "static-pool", feature = "import-memory"))]
compile_error!("features `static-pool` and `import-memory` build two different modules: pick one");
#[cfg(all(feature = "tiny", any(feature = "module", feature = "import-memory")))]
compile_error!("feature `tiny` builds a module of its own (src/flavors/tiny.rs): not with `module` or `import-memory`");
#[cfg(all(feature = "cabi-realloc", any(feature = "module", feature = "import-memory", feature = "tiny")))]
compile_error!(
    "feature `cabi-realloc` exports `cabi_realloc` from a Rust program: the modules have their own (`c-api`)"
);
#[cfg(all(feature = "module", feature = "import-memory"))]
compile_error!("features `module` and `import-memory` build two different modules: pick one");

/// Every module (`module`, `import-memory`, `tiny`) traps on a panic: no formatting, no unwinding.
#[cfg(all(target_arch = "wasm32", any(feature = "module", feature = "import-memory", feature = "tiny"), not(test)))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
