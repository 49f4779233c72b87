//! talc 5 for threads: `TalcLock` (talc's mutex-wrapped allocator, `talc::sync`) over a spin lock,
//! with the sources of its wasm set-up (`WasmGrowAndExtend`, `WasmBinning`). scripts/bench builds
//! it with `+atomics` for the threads measure (host-tests/bench/v8/threads.mjs): several workers,
//! one shared memory, one heap.
#![no_std]

use core::sync::atomic::{AtomicBool, Ordering};
use talc::lock_api::{GuardSend, RawMutex};

/// A spin lock: swap until it was free (what talc's docs pair it with: `spinning_top`'s).
pub struct Spin(AtomicBool);

// SAFETY: the lock is held from a successful swap (Acquire) of false to true until the store of
// false (Release) in `unlock`: one holder at a time.
unsafe impl RawMutex for Spin {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Spin = Spin(AtomicBool::new(false));
    type GuardMarker = GuardSend;

    fn lock(&self) {
        while self.0.swap(true, Ordering::Acquire) {
            while self.0.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    fn try_lock(&self) -> bool {
        !self.0.swap(true, Ordering::Acquire)
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

type Locked = talc::sync::TalcLock<Spin, talc::wasm::WasmGrowAndExtend, talc::wasm::WasmBinning>;

/// `TalcLock` is `Sync` only when its source is `Send`, and `WasmGrowAndExtend` (the end of the
/// arena, a pointer) is not; it is only touched under the lock, so the static may be shared.
pub struct Shared(Locked);

// SAFETY: the source is only used by talc while it holds the lock.
unsafe impl Sync for Shared {}

// SAFETY: delegates to `TalcLock`, which takes its lock in every call.
unsafe impl core::alloc::GlobalAlloc for Shared {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's GlobalAlloc contract, passed on.
        unsafe { self.0.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        // SAFETY: the caller's GlobalAlloc contract, passed on.
        unsafe { self.0.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: core::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's GlobalAlloc contract, passed on.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Shared = Shared(talc::sync::TalcLock::new(talc::wasm::WasmGrowAndExtend::new()));

peer_abi::export_raw_abi!(ALLOC);
