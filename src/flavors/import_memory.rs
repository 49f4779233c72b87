//! The core of `wasm/wasmheap-import-memory.wasm` (feature `import-memory`).
//!
//! That module imports `env.memory` and manages a region of it that the host names at start-up
//! with `init(start, end)`. It must own nothing else in that memory: no statics (there are none
//! here, so the linked core has no data segment) and no shadow stack of its own placement. The
//! core is linked with `--import-memory -zstack-size=0 --export=__stack_pointer`, and the
//! hand-written shim `src/flavors/import_memory.wat`, merged into it by scripts/build, keeps the state
//! that cannot live in memory in a wasm global:
//!
//! ```text
//!  start (rounded up to 16)     +4096                                       end
//!  | shadow stack (grows down) | Root | control 0 | blocks ...  top ...      |
//!                              ^ heap start
//! ```
//!
//! The shim's `init` points `__stack_pointer` at start + 4096 and calls [`__wasmheap_init`]; every
//! other export of the shim calls the function of the same name here with the heap's start first
//! (0 before `init` succeeds: every call then does nothing and returns 0, `check` `u32::MAX`).
//! The shim also answers [`Region`]'s question whether the heap may grow memory. `wasm-opt -Oz`
//! inlines the shim's wrappers and drops these `__wasmheap_*` exports, `__stack_pointer`,
//! `__heap_base` and `__data_end`.

use crate::core::heap::{Heap, RECORDS_SIZE, ROOT_SIZE};
use crate::core::mem::Mem;
use crate::core::source::{Source, WasmMemory};
use crate::flavors::wasm::memory_end;

/// Where the heap's memory comes from: nowhere (a fixed region), or `memory.grow` when `init` was
/// told so. A zero-sized type, so that a `Heap` is two words and travels in registers; the mode
/// lives in the shim's global, read on the cold growth path only.
#[derive(Clone, Copy)]
pub struct Region;

// Safety: scripts/build merges the shim (src/flavors/import_memory.wat), which defines this function
// with this signature.
#[link(wasm_import_module = "shim")]
unsafe extern "C" {
    /// Non-zero when the region runs to the end of memory and may grow it (`init(start, 0)`).
    fn __wasmheap_grows() -> u32;
}

// Safety: a region that may grow runs to the end of the imported memory (`init(start, 0)`), which
// is then the heap's: `WasmMemory`'s reasoning holds; a fixed region never grows.
unsafe impl Source for Region {
    fn grow(&self, end: u32, min_end: u32) -> Option<u32> {
        // Safety: the shim's function takes nothing and reads its own global.
        if unsafe { __wasmheap_grows() } != 0 { WasmMemory.grow(end, min_end) } else { None }
    }
}

#[inline(always)]
fn heap(start: u32) -> Option<Heap<Region>> {
    // Safety: `init` checked the region, which the host gave to the heap alone.
    (start != 0).then(|| unsafe { Heap::new(Mem::WASM, start, Region) })
}

/// Sets up an empty heap at `start` (8-aligned, non-zero) up to `end`, or, with `end == 0`, up to
/// the end of memory, growing it when needed (the shim has set its flag). Returns `start`, or 0
/// when the region is bad: `start` or `end` past the end of memory, or a fixed region too small
/// for the heap's records ([`RECORDS_SIZE`] bytes) and its first block. Whatever was in the
/// region before is forgotten.
#[unsafe(no_mangle)]
pub extern "C" fn __wasmheap_init(start: u32, end: u32) -> u32 {
    let memory = memory_end();
    let grows = end == 0;
    let end = if grows { memory } else { end };
    let records = start as u64 + RECORDS_SIZE as u64;
    if start == 0 || !start.is_multiple_of(8) || start > memory || end > memory || (!grows && records > end as u64) {
        return 0;
    }
    // A region whose root is zero is a new heap (`ensure_init`); the root is all it reads. Where
    // the root reaches past the end of memory, `ensure_init` grows it: fresh pages are zero.
    let root = ROOT_SIZE.min(memory - start);
    // Safety: `start..start + root` is inside memory (checked above) and the host gave it to the heap.
    unsafe { core::ptr::write_bytes(Mem::WASM.ptr(start), 0, root as usize) };
    match heap(start) {
        Some(h) if h.ensure_init(end) => start,
        _ => 0,
    }
}

/// Each entry of the table (`exports.rs`) a function `__wasmheap_<name>` with the heap's start
/// first; no heap before `init`.
macro_rules! shim_exports {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: u32),*) $(-> $ret:ty)?
        { $way:ident |$h:ident| $body:expr } else { $default:expr })*) => {
        $(
            $(#[$doc])*
            #[unsafe(export_name = concat!("__wasmheap_", stringify!($name)))]
            pub extern "C" fn $name(start: u32, $($arg: u32),*) $(-> $ret)? {
                match heap(start) {
                    Some($h) => $body,
                    None => $default,
                }
            }
        )*
    };
}

crate::flavors::exports::raw_abi!(shim_exports);
#[cfg(feature = "c-api")]
crate::flavors::exports::c_names!(shim_exports);
