//! wasmheap: a small, fast allocator for WebAssembly linear memory.
//!
//! The core ([`Heap`]) is platform-free: it manages a region of memory handed to it by a
//! [`Source`] (`memory.grow` in the module, a host buffer in the native unit tests), in `u32`
//! offsets, and is unit-tested natively. On wasm32 the crate also provides the raw ABI exports
//! (feature `module`, see `abi.rs`) and [`WasmHeap`] for `#[global_allocator]`.
//!
//! Reading order: `block.rs` (layout), `classes.rs` (size classes), `segment.rs` (lists, bins),
//! `heap.rs` (the algorithm), `marks.rs`, `check.rs`, `stats.rs`; `wasm.rs` and
//! `abi.rs` (with the table of exports in `exports.rs`) bind it to the module.
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

pub mod block;
mod check;
mod classes;
mod heap;
mod marks;
mod mem;
mod segment;
pub mod source;
mod stats;

pub use check::Broken;
pub use heap::{CONTROL_SIZE, Heap, MAX_ALIGN, MAX_DEPTH, RECORDS_SIZE, ROOT_SIZE};
pub use mem::Mem;
pub use source::{Pool, Source};
pub use stats::Stats;

// The heap has no lock: threads sharing the memory would corrupt it. Refuse such builds until a
// thread-safe flavor exists (`wasmheap_atomics`: set by build.rs, which sees what stable rustc's
// cfg hides).
#[cfg(any(wasmheap_atomics, all(target_arch = "wasm32", target_feature = "atomics")))]
compile_error!(
    "wasmheap is single-threaded: a wasm32 build with `+atomics` (shared memory, threads) would let \
     threads corrupt the heap. Build without `-C target-feature=+atomics`, or use another allocator \
     for threaded programs, until wasmheap has a thread-safe flavor."
);

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub use wasm::WasmHeap;

#[cfg(all(target_arch = "wasm32", feature = "module"))]
mod abi;
#[cfg(all(target_arch = "wasm32", any(feature = "module", feature = "import-memory")))]
mod exports;
#[cfg(all(target_arch = "wasm32", feature = "module", feature = "debug"))]
mod debug;
#[cfg(all(feature = "debug", any(not(feature = "module"), feature = "c-api", feature = "static-pool")))]
compile_error!("feature `debug` builds wasm/wasmheap-debug.wasm: with `module` alone (no `c-api`, no `static-pool`)");
#[cfg(all(target_arch = "wasm32", feature = "import-memory"))]
mod import_memory;
#[cfg(all(target_arch = "wasm32", feature = "static-pool"))]
mod static_pool;
#[cfg(all(feature = "static-pool", feature = "import-memory"))]
compile_error!("features `static-pool` and `import-memory` build two different modules: pick one");
#[cfg(all(target_arch = "wasm32", feature = "tiny"))]
mod tiny;
#[cfg(all(feature = "tiny", any(feature = "module", feature = "import-memory")))]
compile_error!("feature `tiny` builds a module of its own (src/tiny.rs): not with `module` or `import-memory`");
#[cfg(all(feature = "module", feature = "import-memory"))]
compile_error!("features `module` and `import-memory` build two different modules: pick one");
#[cfg_attr(
    not(all(target_arch = "wasm32", feature = "c-api", any(feature = "module", feature = "import-memory"))),
    allow(dead_code)
)]
mod c_api;

#[cfg(test)]
mod tests;

/// Every module (`module`, `import-memory`, `tiny`) traps on a panic: no formatting, no unwinding.
#[cfg(all(target_arch = "wasm32", any(feature = "module", feature = "import-memory", feature = "tiny"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
