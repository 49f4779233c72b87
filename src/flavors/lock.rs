//! The lock of [`WasmHeap`](crate::WasmHeap) in a Rust program built with `+atomics` (threads over
//! one shared memory; nightly with `-Z build-std`): the kind that wasm/wasmheap-shared.wasm takes, a
//! word taken with a compare-exchange (0 → 1) and given back with a store, a waiter spinning with
//! exponential backoff. It never waits in `memory.atomic.wait32`: the crate is `no_std` and has no
//! thread-local state to know which thread may block (a browser's main thread may not), so every
//! waiter spins, as Rust std's own allocator lock on wasm does. Uncontended it costs one
//! compare-exchange and one store per call.
//!
//! Without `target_feature = "atomics"` there is no lock: [`lock`] returns a zero-sized guard with
//! no `Drop`, and neither code nor a static is compiled (the single-threaded build is unchanged).

/// Held while the heap is used; gives the lock back when dropped. O(1).
#[cfg(target_feature = "atomics")]
pub(crate) struct Guard(());

#[cfg(target_feature = "atomics")]
static LOCK: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Takes the heap's lock, spinning until it is free. O(1) when nobody holds it.
#[cfg(target_feature = "atomics")]
#[inline(always)]
pub(crate) fn lock() -> Guard {
    use core::sync::atomic::Ordering::{Acquire, Relaxed};
    if LOCK.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
        contended();
    }
    Guard(())
}

/// Spins until the lock is taken: an empty loop of 1, 2, 4, ... up to 256 iterations between
/// looks at the word (a look that sees it free tries the compare-exchange).
#[cfg(target_feature = "atomics")]
#[cold]
#[inline(never)]
fn contended() {
    use core::sync::atomic::Ordering::{Acquire, Relaxed};
    let mut pause = 1u32;
    loop {
        for i in 0..pause {
            // Keeps the empty loop: wasm has no pause instruction (`spin_loop` is a no-op there).
            core::hint::black_box(i);
        }
        if LOCK.load(Relaxed) == 0 && LOCK.compare_exchange(0, 1, Acquire, Relaxed).is_ok() {
            return;
        }
        pause = (pause * 2).min(256);
    }
}

#[cfg(target_feature = "atomics")]
impl Drop for Guard {
    #[inline(always)]
    fn drop(&mut self) {
        LOCK.store(0, core::sync::atomic::Ordering::Release);
    }
}

/// No threads, no lock: a zero-sized guard, nothing to drop.
#[cfg(not(target_feature = "atomics"))]
pub(crate) struct Guard;

/// No threads, no lock: compiles to nothing.
#[cfg(not(target_feature = "atomics"))]
#[inline(always)]
pub(crate) fn lock() -> Guard {
    Guard
}
