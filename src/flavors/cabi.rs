//! `cabi_realloc`: the allocator of a component, as the canonical ABI of the component model calls
//! it to lower strings and lists into the module (exported by the C flavor, the import-memory
//! flavor, and by the crate with the feature `cabi-realloc` for a `no_std` component whose
//! `#[global_allocator]` is `WasmHeap`).
//!
//! `cabi_realloc(old_ptr, old_size, align, new_size)`: with `old_ptr` 0 a new block of `new_size`
//! bytes aligned to `align` (`cabi_realloc(0, 0, align, size)`, how the host allocates); else the
//! live block at `old_ptr` resized to `new_size`, its contents kept up to the smaller size, at
//! `align`. `align` is a power of two up to 65536 ([`MAX_ALIGN`]); `old_size` is not needed (the
//! heap knows the block's size). The canonical ABI has no failure result, so every failure traps
//! (`unreachable`), after the heap has counted it and is left sound: a bad `align` (not a power of
//! two, or above 65536), a size the heap cannot serve (larger than [`MAX_REQUEST`](crate::block::MAX_REQUEST),
//! or out of memory), an `old_ptr` that is not a live block. A component instance that traps
//! cannot be entered again, but a core instance (the C flavor called directly) can: `check()`
//! is then 0.

use crate::core::heap::{Heap, MAX_ALIGN};
use crate::core::source::Source;

/// See the module doc. O(1), plus the bytes copied when a block moves to a larger alignment.
#[inline]
pub fn cabi_realloc<S: Source>(heap: Heap<S>, old_ptr: u32, _old_size: u32, align: u32, new_size: u32) -> u32 {
    if !align.is_power_of_two() || align > MAX_ALIGN {
        heap.failed();
        return fail();
    }
    let ptr = if old_ptr == 0 {
        heap.allocate_aligned(new_size, align)
    } else {
        heap.reallocate_aligned(old_ptr, new_size, align)
    };
    if ptr == 0 { fail() } else { ptr }
}

/// A failure of `cabi_realloc`: a trap in a module, a panic in the native unit tests.
#[cold]
pub fn fail() -> u32 {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("cabi_realloc failed: a bad alignment, a size the heap cannot serve, or a pointer that is not live");
}

/// The crate's own `cabi_realloc` (feature `cabi-realloc`), on the heap of `WasmHeap`: for a
/// component written in Rust without wit-bindgen's runtime, whose allocator is wasmheap.
#[cfg(all(target_arch = "wasm32", feature = "cabi-realloc"))]
#[unsafe(export_name = "cabi_realloc")]
pub extern "C" fn cabi_realloc_export(old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> u32 {
    cabi_realloc(crate::flavors::wasm::heap(), old_ptr, old_size, align, new_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mem, Pool};
    use std::vec;

    /// A heap set up in `buffer` (its records at 8).
    fn heap_in(buffer: &mut [u64]) -> Heap<Pool> {
        let limit = (buffer.len() * 8) as u32;
        // SAFETY: `buffer` covers `limit` bytes, 8-aligned, used by this heap alone, and the caller
        // keeps it for as long as it uses the heap.
        let heap = unsafe { Heap::new(Mem::new(buffer.as_mut_ptr() as *mut u8), 8, Pool { limit }) };
        assert!(heap.ensure_init(65536));
        heap
    }

    #[test]
    fn allocates_reallocates_and_honours_alignment_up_to_64k() {
        let mut buffer = vec![0u64; (4 << 20) / 8];
        let heap = heap_in(&mut buffer);
        for align in (0..=16).map(|k| 1u32 << k) {
            let p = cabi_realloc(heap, 0, 0, align, 100);
            assert!(p != 0 && p.is_multiple_of(align), "align {align}: {p:#x}");
            // Safety: `p` is a live block of 100 bytes.
            unsafe { core::ptr::write_bytes(heap.mem.ptr(p), 0x5A, 100) };
            let q = cabi_realloc(heap, p, 100, align, 5000);
            assert!(q.is_multiple_of(align) && heap.size(q) == 5000, "align {align}: {q:#x}");
            // Safety: `q` is live with 5000 bytes; the first 100 were kept.
            assert!(unsafe { std::slice::from_raw_parts(heap.mem.ptr(q), 100) }.iter().all(|&b| b == 0x5A));
            let r = cabi_realloc(heap, q, 5000, align, 10);
            assert!(r.is_multiple_of(align) && heap.size(r) == 10);
            heap.deallocate(r);
        }
        assert_eq!(cabi_realloc(heap, 0, 0, 1, 0) % 8, 0, "an empty list still gets a pointer");
        let s = heap.stats();
        assert_eq!((s.live_blocks, heap.check()), (1, 0));
    }

    #[test]
    fn failures_are_counted_then_panic_natively_and_leave_the_heap_sound() {
        let mut buffer = vec![0u64; (1 << 20) / 8];
        let heap = heap_in(&mut buffer);
        let p = cabi_realloc(heap, 0, 0, 8, 64);
        for (old, align, size) in [(0, 3, 8), (0, 1 << 17, 8), (0, 8, u32::MAX), (0, 8, 2 << 20), (p + 8, 8, 8)] {
            let failed = std::panic::catch_unwind(|| cabi_realloc(heap, old, 0, align, size));
            assert!(failed.is_err(), "cabi_realloc({old:#x}, 0, {align}, {size}) did not fail");
        }
        let s = heap.stats();
        assert_eq!((s.failures, s.rejected_frees, s.live_blocks, heap.check()), (4, 1, 1, 0));
        assert_eq!(heap.size(p), 64);
    }
}
