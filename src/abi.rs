//! The raw ABI of `wasm/wasmheap.wasm` (README.md, "The raw ABI"). Every value is an i32.
//! In the debug flavor the same exports go through the debug layer (`debug/mod.rs`).

#[cfg(feature = "debug")]
use crate::debug::{heap, ready_heap};
use crate::stats::Stats;
#[cfg(not(feature = "debug"))]
use crate::wasm::{heap, ready_heap};

#[unsafe(no_mangle)]
pub extern "C" fn allocate(size: u32) -> u32 {
    heap().allocate(size)
}

#[unsafe(no_mangle)]
pub extern "C" fn allocate_aligned(size: u32, align: u32) -> u32 {
    heap().allocate_aligned(size, align)
}

#[unsafe(no_mangle)]
pub extern "C" fn deallocate(ptr: u32) {
    heap().deallocate(ptr)
}

#[unsafe(no_mangle)]
pub extern "C" fn reallocate(ptr: u32, size: u32) -> u32 {
    heap().reallocate(ptr, size)
}

#[unsafe(no_mangle)]
pub extern "C" fn size(ptr: u32) -> u32 {
    heap().size(ptr)
}

#[unsafe(no_mangle)]
pub extern "C" fn free_all() {
    if let Some(h) = ready_heap() {
        h.free_all()
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn free_all_mark() {
    if let Some(h) = ready_heap() {
        h.free_all_mark()
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn free_get_mark() -> u32 {
    ready_heap().map_or(0, |h| h.free_get_mark())
}

#[unsafe(no_mangle)]
pub extern "C" fn free_to_mark(mark: u32) {
    if let Some(h) = ready_heap() {
        h.free_to_mark(mark)
    }
}

/// 0 when sound; `u32::MAX` if the heap could not even be set up.
#[unsafe(no_mangle)]
pub extern "C" fn check() -> u32 {
    ready_heap().map_or(u32::MAX, |h| h.check())
}

/// Writes the 64-byte `Stats` struct at `out`, which must be 64 bytes the caller owns.
#[unsafe(no_mangle)]
pub extern "C" fn stats(out: u32) {
    let stats = ready_heap().map(|h| h.stats()).unwrap_or_default();
    // Safety: the ABI makes `out..out + 64` the caller's (README, "Guarantees"); in wasm any
    // address is memory, and one past the end traps rather than corrupting anything.
    unsafe { core::ptr::write_unaligned(out as *mut Stats, stats) }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

// ---- the C names (feature `c-api`) ----------------------------------------------------------

#[cfg(feature = "c-api")]
mod c_names {
    use crate::c_api;
    use crate::wasm::heap;

    #[unsafe(no_mangle)]
    pub extern "C" fn malloc(size: u32) -> u32 {
        c_api::malloc(heap(), size)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn free(ptr: u32) {
        super::deallocate(ptr)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn realloc(ptr: u32, size: u32) -> u32 {
        c_api::realloc(heap(), ptr, size)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn calloc(n: u32, size: u32) -> u32 {
        let fresh_from = crate::wasm::memory_end();
        c_api::calloc(heap(), n, size, fresh_from)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn aligned_alloc(align: u32, size: u32) -> u32 {
        super::allocate_aligned(size, align)
    }

    #[unsafe(no_mangle)]
    pub extern "C" fn posix_memalign(memptr: u32, align: u32, size: u32) -> u32 {
        c_api::posix_memalign(heap(), memptr, align, size)
    }
}
