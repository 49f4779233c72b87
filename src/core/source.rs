//! Where the heap's memory comes from when it must grow, and where its blocks begin.

use crate::core::heap::RECORDS_SIZE;

/// A memory source extends the region the heap manages, which always ends at `end`.
///
/// # Safety
/// The heap trusts what `grow` returns for memory safety: when it returns `Some(new_end)`, every
/// byte from `end` up to `new_end` must be valid for reads and writes through the heap's [`Mem`],
/// used by nothing but the heap, for as long as the heap is used.
///
/// [`Mem`]: crate::Mem
pub unsafe trait Source: Copy {
    /// Makes memory available up to at least `min_end` (> `end`). Returns the new end, or `None`
    /// when no more memory can be had; the heap is left as it was.
    fn grow(&self, end: u32, min_end: u32) -> Option<u32>;

    /// Where the heap's blocks begin (8-aligned) when its records are at `records`: by default
    /// right after them, in one region.
    #[inline(always)]
    fn blocks_base(&self, records: u32) -> u32 {
        records + RECORDS_SIZE
    }
}

/// The highest end the heap uses: the last 8 bytes of a full 4 GiB memory stay unused so that
/// every end fits a `u32`.
pub const MAX_END: u32 = u32::MAX - 7;

/// A region that can be extended up to `limit`: a static pool (`limit` = its end), or a host
/// buffer in native tests, where lowering the limit makes growth fail on demand.
#[derive(Clone, Copy)]
pub struct Pool {
    /// The highest end `grow` gives: the end of the buffer (8-aligned).
    pub limit: u32,
}

// Safety: `Heap::new`'s contract makes the `Mem` cover the region up to `limit`, and `grow`
// never returns more.
unsafe impl Source for Pool {
    fn grow(&self, end: u32, min_end: u32) -> Option<u32> {
        debug_assert!(min_end > end);
        // Grow in 64 KiB steps, as wasm memory does, so tests see the same rhythm.
        let stepped = (min_end as u64 + 0xFFFF) & !0xFFFF;
        let new_end = stepped.min(self.limit as u64) as u32;
        (new_end >= min_end).then_some(new_end)
    }
}

/// The module's own linear memory, grown with `memory.grow` in 64 KiB pages. The blocks begin at
/// `__heap_base` (the records are a static of the program: `wasm.rs`); a source that only grows
/// memory for a heap in one region (import-memory) keeps the default layout of its own.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Copy)]
pub struct WasmMemory;

// Safety: the returned end is the end of linear memory, grown by `memory.grow` if needed; in wasm
// every address below it is memory, and nothing but the heap uses what lies above `__heap_base`.
#[cfg(target_arch = "wasm32")]
unsafe impl Source for WasmMemory {
    fn grow(&self, _end: u32, min_end: u32) -> Option<u32> {
        use core::arch::wasm32::{memory_grow, memory_size};
        // Someone else (the host, JavaScript) may have grown memory too: the heap takes everything
        // up to the real end of memory.
        let current = memory_size(0) as u64 * 65536;
        let pages = (min_end as u64).saturating_sub(current).div_ceil(65536) as usize;
        if pages > 0 && memory_grow(0, pages) == usize::MAX {
            return None;
        }
        Some(((current + pages as u64 * 65536).min(MAX_END as u64)) as u32)
    }

    #[inline(always)]
    fn blocks_base(&self, _records: u32) -> u32 {
        // Safety: wasm-ld defines `__heap_base` for every module; only its address is taken.
        unsafe extern "C" {
            static __heap_base: u8;
        }
        (core::ptr::addr_of!(__heap_base) as u32 + 7) & !7
    }
}
