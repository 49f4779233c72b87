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
//! C's `malloc`, `free` and `realloc` are the same wrapper with a 16-byte header and
//! `Layout { size: size + 16, align: 16 }` ([`C_HEADER`]), so that every pointer handed out is
//! 16-aligned, as C requires of them on wasm32 (`alignof(max_align_t)`): the benchmark's
//! C-alignment measure replays its traces through them.
//!
//! [`export_raw_abi!`] defines the three raw exports in the cdylib that invokes it, and with this
//! crate's feature `c` the three C ones beside them (scripts/bench builds every peer both ways:
//! the raw measure's modules stay as they were); the linker adds the `memory` export. This crate
//! also supplies the panic handler (a trap).
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;

/// Bytes in front of every block of the raw ABI: the requested size as a `usize`, padded to 8
/// (also the blocks' alignment).
pub const HEADER: usize = 8;

/// Bytes in front of every block of `malloc`/`realloc`: the requested size as a `usize`, padded
/// to 16 (also the blocks' alignment, C's on wasm32).
pub const C_HEADER: usize = 16;

/// The largest request served with an `H`-byte header: the total `size + H`, rounded up to the
/// alignment `H`, must not exceed `isize::MAX` (a `Layout` invariant).
const fn max_size<const H: usize>() -> usize {
    isize::MAX as usize - 2 * H
}

/// The layout of a block of `size` bytes behind an `H`-byte header, aligned to `H`.
#[inline(always)]
fn layout<const H: usize>(size: usize) -> Layout {
    // SAFETY: size <= max_size::<H>(), so size + H rounded up to H does not exceed isize::MAX;
    // H (8 or 16) is a power of two.
    unsafe { Layout::from_size_align_unchecked(size + H, H) }
}

/// `allocate` behind an `H`-byte header.
#[inline(always)]
unsafe fn alloc_with<A: GlobalAlloc, const H: usize>(a: &A, size: usize) -> *mut u8 {
    if size > max_size::<H>() {
        return null_mut();
    }
    // SAFETY: the layout is not zero-sized (H > 0); a non-null block holds `size + H` bytes,
    // aligned to H, so the header word fits at its start and the payload begins H bytes in.
    unsafe {
        let base = a.alloc(layout::<H>(size));
        if base.is_null() {
            return null_mut();
        }
        (base as *mut usize).write(size);
        base.add(H)
    }
}

/// `deallocate` behind an `H`-byte header.
#[inline(always)]
unsafe fn free_with<A: GlobalAlloc, const H: usize>(a: &A, ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the caller's contract: `ptr` is a live block of `alloc_with::<A, H>` or
    // `realloc_with::<A, H>` with this `a`, so its header H bytes below holds the size that gives
    // back the layout it was allocated with.
    unsafe {
        let base = ptr.sub(H);
        let size = (base as *const usize).read();
        a.dealloc(base, layout::<H>(size));
    }
}

/// `reallocate` behind an `H`-byte header (`GlobalAlloc::realloc` keeps the alignment `H`).
#[inline(always)]
unsafe fn realloc_with<A: GlobalAlloc, const H: usize>(a: &A, ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        // SAFETY: the caller's contract, which is `alloc_with`'s.
        return unsafe { alloc_with::<A, H>(a, size) };
    }
    if size > max_size::<H>() {
        return null_mut();
    }
    // SAFETY: as in `free_with`, the header gives the old layout; the new size, below
    // `max_size`, does not overflow; a non-null block holds `size + H` bytes aligned to H.
    unsafe {
        let base = ptr.sub(H);
        let old = (base as *const usize).read();
        let new = a.realloc(base, layout::<H>(old), size + H);
        if new.is_null() {
            return null_mut();
        }
        (new as *mut usize).write(size);
        new.add(H)
    }
}

/// `allocate(size) -> ptr`: 8-byte aligned, `0` on failure.
///
/// # Safety
/// `a` must be the only allocator of the module's memory.
#[inline(always)]
pub unsafe fn allocate<A: GlobalAlloc>(a: &A, size: usize) -> *mut u8 {
    // SAFETY: the caller's contract, passed on.
    unsafe { alloc_with::<A, HEADER>(a, size) }
}

/// `deallocate(ptr)`: `0` is a no-op.
///
/// # Safety
/// `ptr` must be `0` or a live block of [`allocate`] / [`reallocate`] with the same `a`.
#[inline(always)]
pub unsafe fn deallocate<A: GlobalAlloc>(a: &A, ptr: *mut u8) {
    // SAFETY: the caller's contract: `ptr` is 0 or a block of the same family (`HEADER`).
    unsafe { free_with::<A, HEADER>(a, ptr) }
}

/// `reallocate(ptr, size) -> ptr`: C `realloc`; `ptr == 0` allocates; `0` on failure (the old
/// block stays live).
///
/// # Safety
/// As [`deallocate`].
#[inline(always)]
pub unsafe fn reallocate<A: GlobalAlloc>(a: &A, ptr: *mut u8, size: usize) -> *mut u8 {
    // SAFETY: the caller's contract: `ptr` is 0 or a block of the same family (`HEADER`).
    unsafe { realloc_with::<A, HEADER>(a, ptr, size) }
}

/// C `malloc(size) -> ptr`: 16-byte aligned, `0` on failure.
///
/// # Safety
/// As [`allocate`].
#[inline(always)]
pub unsafe fn malloc<A: GlobalAlloc>(a: &A, size: usize) -> *mut u8 {
    // SAFETY: the caller's contract, passed on.
    unsafe { alloc_with::<A, C_HEADER>(a, size) }
}

/// C `free(ptr)`: `0` is a no-op.
///
/// # Safety
/// `ptr` must be `0` or a live block of [`malloc`] / [`realloc`] with the same `a` (not of
/// [`allocate`]: the headers differ).
#[inline(always)]
pub unsafe fn free<A: GlobalAlloc>(a: &A, ptr: *mut u8) {
    // SAFETY: the caller's contract: `ptr` is 0 or a block of the same family (`C_HEADER`).
    unsafe { free_with::<A, C_HEADER>(a, ptr) }
}

/// C `realloc(ptr, size) -> ptr`: 16-byte aligned; `ptr == 0` allocates; `0` on failure (the
/// old block stays live).
///
/// # Safety
/// As [`free`].
#[inline(always)]
pub unsafe fn realloc<A: GlobalAlloc>(a: &A, ptr: *mut u8, size: usize) -> *mut u8 {
    // SAFETY: the caller's contract: `ptr` is 0 or a block of the same family (`C_HEADER`).
    unsafe { realloc_with::<A, C_HEADER>(a, ptr, size) }
}

/// Defines the raw ABI's `allocate`, `deallocate` and `reallocate` exports over the
/// `GlobalAlloc` static `$alloc`, and with this crate's feature `c` C's `malloc`, `free` and
/// `realloc` beside them. A block belongs to the family that allocated it (their headers differ).
#[macro_export]
macro_rules! export_raw_abi {
    ($alloc:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn allocate(size: usize) -> *mut u8 {
            // SAFETY: `$alloc` is the module's only allocator.
            unsafe { $crate::allocate(&$alloc, size) }
        }

        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // an export: the host passes the pointer
        pub extern "C" fn deallocate(ptr: *mut u8) {
            // SAFETY: the host keeps the ABI's contract: `ptr` is 0 or a live block of this family.
            unsafe { $crate::deallocate(&$alloc, ptr) }
        }

        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // an export: the host passes the pointer
        pub extern "C" fn reallocate(ptr: *mut u8, size: usize) -> *mut u8 {
            // SAFETY: the host keeps the ABI's contract: `ptr` is 0 or a live block of this family.
            unsafe { $crate::reallocate(&$alloc, ptr, size) }
        }

        $crate::export_c_names!($alloc);
    };
}

/// C's `malloc`, `free` and `realloc` exports over `$alloc` (feature `c`). The feature is this
/// crate's, so the choice is made here rather than in the crate that expands the macro.
#[cfg(feature = "c")]
#[doc(hidden)]
#[macro_export]
macro_rules! export_c_names {
    ($alloc:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn malloc(size: usize) -> *mut u8 {
            // SAFETY: `$alloc` is the module's only allocator.
            unsafe { $crate::malloc(&$alloc, size) }
        }

        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // an export: the host passes the pointer
        pub extern "C" fn free(ptr: *mut u8) {
            // SAFETY: the host keeps the ABI's contract: `ptr` is 0 or a live block of this family.
            unsafe { $crate::free(&$alloc, ptr) }
        }

        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // an export: the host passes the pointer
        pub extern "C" fn realloc(ptr: *mut u8, size: usize) -> *mut u8 {
            // SAFETY: the host keeps the ABI's contract: `ptr` is 0 or a live block of this family.
            unsafe { $crate::realloc(&$alloc, ptr, size) }
        }
    };
}

/// Without feature `c`: no C names.
#[cfg(not(feature = "c"))]
#[doc(hidden)]
#[macro_export]
macro_rules! export_c_names {
    ($alloc:path) => {};
}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
