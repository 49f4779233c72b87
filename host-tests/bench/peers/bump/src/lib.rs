//! A never-freeing bump allocator: the speed limit. `alloc` bumps a pointer (growing memory by
//! whole 64 KiB pages when needed), `dealloc` does nothing, `realloc` grows or shrinks the last
//! block in place and otherwise allocates anew and copies.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;
use core::ptr::null_mut;

const PAGE: usize = 65536;

struct Bump {
    /// First free byte; 0 before the first allocation.
    top: Cell<usize>,
}

// SAFETY: wasm32-unknown-unknown without the atomics feature is single-threaded.
unsafe impl Sync for Bump {}

unsafe extern "C" {
    /// Set by the linker: the first byte after the stack and static data.
    static __heap_base: u8;
}

impl Bump {
    /// Makes sure memory reaches `end`; false when it cannot grow.
    #[inline(always)]
    fn reserve(end: usize) -> bool {
        let have = wasm32::memory_size(0) * PAGE;
        if end <= have {
            return true;
        }
        let pages = (end - have).div_ceil(PAGE);
        wasm32::memory_grow(0, pages) != usize::MAX
    }
}

// SAFETY: every block lies above `__heap_base` (nothing else of the program lives there), inside
// memory (grown first), aligned as asked; the top only rises past a block, but for `realloc` of the
// last block, which moves the top to that block's new end: no two live blocks overlap.
unsafe impl GlobalAlloc for Bump {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut top = self.top.get();
        if top == 0 {
            top = &raw const __heap_base as usize;
        }
        let start = (top + layout.align() - 1) & !(layout.align() - 1);
        let Some(end) = start.checked_add(layout.size()) else {
            return null_mut();
        };
        if !Self::reserve(end) {
            return null_mut();
        }
        self.top.set(end);
        start as *mut u8
    }

    #[inline(always)]
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}

    #[inline(always)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        if start + layout.size() == self.top.get() {
            let Some(end) = start.checked_add(new_size) else {
                return null_mut();
            };
            if !Self::reserve(end) {
                return null_mut();
            }
            self.top.set(end);
            return ptr;
        }
        // SAFETY: `layout.align()` is a power of two and `GlobalAlloc::realloc`'s contract keeps
        // `new_size` valid for it; `ptr` holds `layout.size()` bytes and `new`, a fresh block above
        // the top, does not overlap it.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}

static ALLOC: Bump = Bump { top: Cell::new(0) };

peer_abi::export_raw_abi!(ALLOC);
