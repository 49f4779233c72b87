//! The guest of host-tests/tests/component.rs: the exports of `world.wit` by the canonical ABI,
//! on wasmheap. The host lowers each argument into a block it gets from `cabi_realloc` (the
//! crate's, feature `cabi-realloc`); the callee owns it and frees it. A result goes back through a
//! return area holding (pointer, length) of a block the guest allocated, which the host reads
//! before it calls `cabi_post_<name>`, where the guest frees it.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static HEAP: wasmheap::WasmHeap = wasmheap::WasmHeap;

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The return area: (pointer, length) of a result.
static mut RETURN: [u32; 2] = [0; 2];

/// The argument block at `ptr` of `len` bytes, copied out, and freed.
///
/// # Safety
/// `ptr` is a block of `len` bytes from `cabi_realloc` that the caller handed over.
unsafe fn take(ptr: *mut u8, len: usize) -> Vec<u8> {
    // SAFETY: the caller's contract.
    let bytes = unsafe { core::slice::from_raw_parts(ptr, len) }.to_vec();
    // SAFETY: the block came from `cabi_realloc`, on this heap; `WasmHeap` frees by pointer (an
    // empty list's block too, which a `Vec` of capacity 0 would never free).
    unsafe { HEAP.dealloc(ptr, Layout::from_size_align_unchecked(len, 1)) };
    bytes
}

/// Hands `result` to the host through the return area; `cabi_post_*` frees it.
fn give(result: Vec<u8>) -> *mut u32 {
    let mut result = core::mem::ManuallyDrop::new(result);
    result.shrink_to_fit();
    // SAFETY: single-threaded; the host reads the area before the next call.
    unsafe {
        RETURN = [result.as_mut_ptr() as u32, result.len() as u32];
        core::ptr::addr_of_mut!(RETURN) as *mut u32
    }
}

/// Frees the result whose (pointer, length) is at `area`.
///
/// # Safety
/// `area` is what [`give`] returned, and its result not freed yet.
unsafe fn free_result(area: *mut u32) {
    // SAFETY: the caller's contract: a (pointer, length) of a `Vec` that `give` leaked.
    unsafe {
        let (ptr, len) = (*area as *mut u8, *area.add(1) as usize);
        drop(Vec::from_raw_parts(ptr, len, len));
    }
}

/// `reverse: func(s: string) -> string`.
///
/// # Safety
/// The canonical ABI's: `ptr` is a block of `len` bytes of UTF-8 from `cabi_realloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reverse(ptr: *mut u8, len: usize) -> *mut u32 {
    // SAFETY: the caller's contract.
    let s = unsafe { take(ptr, len) };
    let s = core::str::from_utf8(&s).unwrap_or_else(|_| unreachable!());
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars().rev() {
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    give(out)
}

/// # Safety
/// After `reverse`, with what it returned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_post_reverse(area: *mut u32) {
    // SAFETY: the caller's contract.
    unsafe { free_result(area) }
}

/// `double: func(bytes: list<u8>) -> list<u8>`.
///
/// # Safety
/// The canonical ABI's: `ptr` is a block of `len` bytes from `cabi_realloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn double(ptr: *mut u8, len: usize) -> *mut u32 {
    // SAFETY: the caller's contract.
    let bytes = unsafe { take(ptr, len) };
    give(bytes.iter().flat_map(|&b| [b, b]).collect())
}

/// # Safety
/// After `double`, with what it returned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_post_double(area: *mut u32) {
    // SAFETY: the caller's contract.
    unsafe { free_result(area) }
}

#[cfg(target_arch = "wasm32")]
#[unsafe(export_name = "live-blocks")]
pub extern "C" fn live_blocks() -> u32 {
    HEAP.stats().live_blocks
}

#[cfg(target_arch = "wasm32")]
#[unsafe(export_name = "live-bytes")]
pub extern "C" fn live_bytes() -> u32 {
    HEAP.stats().live_bytes
}
