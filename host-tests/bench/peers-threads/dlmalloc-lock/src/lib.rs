//! Rust std's allocator on wasm32 with `+atomics` (library/std/src/sys/alloc/wasm.rs): one
//! `dlmalloc::Dlmalloc` behind one global spin lock (a swap until it was free; std does not wait in
//! `memory.atomic.wait32`, which a browser's main thread may not). scripts/bench builds it with
//! `+atomics` for the threads measure (host-tests/bench/v8/threads.mjs).
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicI32, Ordering};

struct Locked(UnsafeCell<dlmalloc::Dlmalloc>);

// SAFETY: the Dlmalloc is only touched while LOCKED is held.
unsafe impl Sync for Locked {}

static DLMALLOC: Locked = Locked(UnsafeCell::new(dlmalloc::Dlmalloc::new()));
static LOCKED: AtomicI32 = AtomicI32::new(0);

/// Held from a swap that found the lock free until dropped (std's `lock::lock`).
struct Guard;

fn lock() -> Guard {
    while LOCKED.swap(1, Ordering::Acquire) != 0 {}
    Guard
}

impl Drop for Guard {
    fn drop(&mut self) {
        LOCKED.swap(0, Ordering::Release);
    }
}

struct System;

// SAFETY: every call holds the lock while it uses the one Dlmalloc (std's `System` on wasm).
unsafe impl GlobalAlloc for System {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _lock = lock();
        // SAFETY: the lock is held: this call alone uses the Dlmalloc.
        unsafe { (*DLMALLOC.0.get()).malloc(layout.size(), layout.align()) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _lock = lock();
        // SAFETY: the lock is held; `ptr` is a block of `alloc` with `layout` (GlobalAlloc's contract).
        unsafe { (*DLMALLOC.0.get()).free(ptr, layout.size(), layout.align()) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _lock = lock();
        // SAFETY: as in `dealloc`.
        unsafe { (*DLMALLOC.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

static ALLOC: System = System;

peer_abi::export_raw_abi!(ALLOC);
