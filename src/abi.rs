//! The raw ABI of `wasm/wasmheap.wasm` (its contract: `src/CONTRACT.md`, "The raw ABI"). Every
//! value is an i32.
//! In the debug flavor the same exports go through the debug layer (`debug/mod.rs`).

#[cfg(feature = "debug")]
use crate::debug::{heap, ready_heap};
use crate::stats::Stats;
#[cfg(not(feature = "debug"))]
use crate::wasm::{heap, ready_heap};

/// A block of at least `size` bytes, 8-byte aligned; 0 when out of memory or too large.
#[unsafe(no_mangle)]
pub extern "C" fn allocate(size: u32) -> u32 {
    heap().allocate(size)
}

/// As [`allocate`], the pointer a multiple of `align` (a power of two up to 65536, else 0).
#[unsafe(no_mangle)]
pub extern "C" fn allocate_aligned(size: u32, align: u32) -> u32 {
    heap().allocate_aligned(size, align)
}

/// Frees a live block; 0 is a no-op, anything else not live changes nothing but `rejected_frees`.
#[unsafe(no_mangle)]
pub extern "C" fn deallocate(ptr: u32) {
    heap().deallocate(ptr)
}

/// C `realloc`: keeps the contents, in place when it can; 0 on failure, the old block untouched.
#[unsafe(no_mangle)]
pub extern "C" fn reallocate(ptr: u32, size: u32) -> u32 {
    heap().reallocate(ptr, size)
}

/// The size last requested for a live block; 0 for anything else.
#[unsafe(no_mangle)]
pub extern "C" fn size(ptr: u32) -> u32 {
    heap().size(ptr)
}

/// Releases every block allocated since the floor (at first: every block).
#[unsafe(no_mangle)]
pub extern "C" fn free_all() {
    if let Some(h) = ready_heap() {
        h.free_all()
    }
}

/// Makes the current state the floor: blocks live now survive later [`free_all`] calls.
#[unsafe(no_mangle)]
pub extern "C" fn free_all_mark() {
    if let Some(h) = ready_heap() {
        h.free_all_mark()
    }
}

/// A non-zero token for the current state (marks nest like a stack); 0 when none can be had.
#[unsafe(no_mangle)]
pub extern "C" fn free_get_mark() -> u32 {
    ready_heap().map_or(0, |h| h.free_get_mark())
}

/// Releases the blocks allocated, or moved, after `mark` was taken; a stale mark changes nothing.
#[unsafe(no_mangle)]
pub extern "C" fn free_to_mark(mark: u32) {
    if let Some(h) = ready_heap() {
        h.free_to_mark(mark)
    }
}

/// Walks the whole heap: 0 when sound, else the number of the first [`Broken`](crate::Broken)
/// invariant; `u32::MAX` if the heap could not even be set up.
#[unsafe(no_mangle)]
pub extern "C" fn check() -> u32 {
    ready_heap().map_or(u32::MAX, |h| h.check())
}

/// Writes the 64-byte [`Stats`] struct (16 `u32`) at `out`, which must be 64 bytes the caller owns.
#[unsafe(no_mangle)]
pub extern "C" fn stats(out: u32) {
    let stats = ready_heap().map(|h| h.stats()).unwrap_or_default();
    // Safety: the ABI makes `out..out + 64` the caller's (CONTRACT.md, "Guarantees"); in wasm any
    // address is memory, and one past the end traps rather than corrupting anything.
    unsafe { core::ptr::write_unaligned(out as *mut Stats, stats) }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

// ---- the C names (feature `c-api`; wasm/FLAVORS.md, section 5) ---------------------------------

#[cfg(feature = "c-api")]
mod c_names {
    use crate::c_api;
    use crate::wasm::heap;

    /// C `malloc`: [`allocate`](super::allocate), but 16-aligned (`alignof(max_align_t)`).
    #[unsafe(no_mangle)]
    pub extern "C" fn malloc(size: u32) -> u32 {
        c_api::malloc(heap(), size)
    }

    /// C `free`: [`deallocate`](super::deallocate).
    #[unsafe(no_mangle)]
    pub extern "C" fn free(ptr: u32) {
        super::deallocate(ptr)
    }

    /// C `realloc`: [`reallocate`](super::reallocate), the result 16-aligned.
    #[unsafe(no_mangle)]
    pub extern "C" fn realloc(ptr: u32, size: u32) -> u32 {
        c_api::realloc(heap(), ptr, size)
    }

    /// C `calloc`: a cleared 16-aligned block of `n * size` bytes; 0 when that overflows.
    #[unsafe(no_mangle)]
    pub extern "C" fn calloc(n: u32, size: u32) -> u32 {
        let fresh_from = crate::wasm::memory_end();
        c_api::calloc(heap(), n, size, fresh_from)
    }

    /// C `aligned_alloc`: [`allocate_aligned`](super::allocate_aligned), the alignment first.
    #[unsafe(no_mangle)]
    pub extern "C" fn aligned_alloc(align: u32, size: u32) -> u32 {
        super::allocate_aligned(size, align)
    }

    /// POSIX `posix_memalign`: 0, `EINVAL` (28) or `ENOMEM` (48); `*memptr` untouched on failure.
    #[unsafe(no_mangle)]
    pub extern "C" fn posix_memalign(memptr: u32, align: u32, size: u32) -> u32 {
        c_api::posix_memalign(heap(), memptr, align, size)
    }
}
