//! The raw ABI of `wasm/wasmheap.wasm` (`allocate`, `deallocate`, `reallocate`, all `i32`) over
//! any [`GlobalAlloc`], so that peer allocators can be benchmarked as modules exactly like
//! wasmheap.
//!
//! `GlobalAlloc::dealloc` and `realloc` need the block's layout, which the raw ABI does not pass:
//! each block gets an 8-byte header in front of it that stores the requested size (8 bytes so
//! that the pointer handed out keeps the allocator's 8-byte alignment). Every request is made
//! with `Layout { size: size + 8, align: 8 }`. The header costs the peers 8 bytes per block and
//! a few instructions per call; wasmheap needs no wrapper (its own 8-byte header is part of it).
//!
//! [`export_raw_abi!`] defines the three exports in the cdylib that invokes it; the linker adds
//! the `memory` export. This crate also supplies the panic handler (a trap).
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;

/// Bytes in front of every block: the requested size as a `usize`, padded to 8.
pub const HEADER: usize = 8;

/// The largest request served: the total `size + HEADER`, rounded up to the alignment, must not
/// exceed `isize::MAX` (a `Layout` invariant).
const MAX_SIZE: usize = isize::MAX as usize - 2 * HEADER;

#[inline(always)]
fn layout(size: usize) -> Layout {
    // SAFETY: size <= MAX_SIZE, so size + HEADER rounded up to 8 does not exceed isize::MAX.
    unsafe { Layout::from_size_align_unchecked(size + HEADER, HEADER) }
}

/// `allocate(size) -> ptr`: 8-byte aligned, `0` on failure.
///
/// # Safety
/// `a` must be the only allocator of the module's memory.
#[inline(always)]
pub unsafe fn allocate<A: GlobalAlloc>(a: &A, size: usize) -> *mut u8 {
    if size > MAX_SIZE {
        return null_mut();
    }
    unsafe {
        let base = a.alloc(layout(size));
        if base.is_null() {
            return null_mut();
        }
        (base as *mut usize).write(size);
        base.add(HEADER)
    }
}

/// `deallocate(ptr)`: `0` is a no-op.
///
/// # Safety
/// `ptr` must be `0` or a live block of [`allocate`] / [`reallocate`] with the same `a`.
#[inline(always)]
pub unsafe fn deallocate<A: GlobalAlloc>(a: &A, ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    unsafe {
        let base = ptr.sub(HEADER);
        let size = (base as *const usize).read();
        a.dealloc(base, layout(size));
    }
}

/// `reallocate(ptr, size) -> ptr`: C `realloc`; `ptr == 0` allocates; `0` on failure (the old
/// block stays live).
///
/// # Safety
/// As [`deallocate`].
#[inline(always)]
pub unsafe fn reallocate<A: GlobalAlloc>(a: &A, ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return unsafe { allocate(a, size) };
    }
    if size > MAX_SIZE {
        return null_mut();
    }
    unsafe {
        let base = ptr.sub(HEADER);
        let old = (base as *const usize).read();
        let new = a.realloc(base, layout(old), size + HEADER);
        if new.is_null() {
            return null_mut();
        }
        (new as *mut usize).write(size);
        new.add(HEADER)
    }
}

/// Defines `allocate`, `deallocate` and `reallocate` exports over the `GlobalAlloc` static
/// `$alloc`.
#[macro_export]
macro_rules! export_raw_abi {
    ($alloc:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn allocate(size: usize) -> *mut u8 {
            unsafe { $crate::allocate(&$alloc, size) }
        }

        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // an export: the host passes the pointer
        pub extern "C" fn deallocate(ptr: *mut u8) {
            unsafe { $crate::deallocate(&$alloc, ptr) }
        }

        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // an export: the host passes the pointer
        pub extern "C" fn reallocate(ptr: *mut u8, size: usize) -> *mut u8 {
            unsafe { $crate::reallocate(&$alloc, ptr, size) }
        }
    };
}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
