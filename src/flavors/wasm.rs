//! The heap of the running wasm instance: it starts at `__heap_base` and grows the memory.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_size;

use crate::core::source::MAX_END;
#[cfg(not(feature = "static-pool"))]
use crate::core::{
    heap::{Heap, RECORDS_SIZE},
    mem::Mem,
    source::WasmMemory,
};
use crate::flavors::lock::lock;

/// The module's statics, in one zeroed struct so that the linker puts them in the program's bss,
/// always inside its initial memory (wherever its stack and data put `__heap_base`, which may be
/// the very end of the initial memory), and in this order: the debug layer's state (debug
/// flavor), then the heap's records (root and segment 0's control block), last, so that in the
/// modules, whose only static this is, the records end where the blocks begin (`__heap_base`).
#[cfg(not(feature = "static-pool"))]
#[repr(C, align(16))]
pub(crate) struct Statics {
    #[cfg(feature = "debug")]
    pub debug: crate::flavors::debug::ring::Ledger,
    records: Records,
}

/// The records' bytes, 16-aligned (a multiple of 16 long: nothing follows them in `Statics`).
#[cfg(not(feature = "static-pool"))]
#[repr(C, align(16))]
struct Records([u8; RECORDS_SIZE as usize]);

#[cfg(not(feature = "static-pool"))]
pub(crate) static mut STATICS: Statics = Statics {
    #[cfg(feature = "debug")]
    debug: crate::flavors::debug::ring::INITIAL,
    records: Records([0; RECORDS_SIZE as usize]),
};

/// The instance's heap: its records in [`STATICS`], its blocks from `__heap_base` to the end of
/// memory. The records read all zero until the first allocation sets the heap up on its cold path
/// (`Heap::carve`), which grows memory first when `__heap_base` is at its end: so the hot calls
/// test nothing first. A zero root has no blocks and a zero top, so every pointer is rejected
/// until then.
#[cfg(not(feature = "static-pool"))]
#[inline(always)]
pub(crate) fn heap() -> Heap<WasmMemory> {
    // Safety: only the address of the field is taken.
    let records = unsafe { &raw const STATICS.records } as u32;
    // Safety: the records are a static only the heap touches; the linker puts nothing above
    // __heap_base (`WasmMemory::blocks_base`), so the heap owns it to the end of memory.
    unsafe { Heap::new(Mem::WASM, records, WasmMemory) }
}

/// The heap, set up if it was not yet, for the calls that read its records whole (marks,
/// statistics, check); `None` only if memory cannot hold them.
#[cfg(not(feature = "static-pool"))]
pub(crate) fn ready_heap() -> Option<Heap<WasmMemory>> {
    let heap = heap();
    (heap.is_initialized() || init(heap)).then_some(heap)
}

#[cfg(not(feature = "static-pool"))]
#[cold]
#[inline(never)]
fn init(heap: Heap<WasmMemory>) -> bool {
    heap.ensure_init(memory_end())
}

// The static flavor's heap lives in a pool inside the module and never grows memory.
#[cfg(feature = "static-pool")]
pub(crate) use crate::flavors::static_pool::{heap, ready_heap};

/// The end of linear memory (memory 0: the module's own, or the imported one), capped at `MAX_END`.
#[inline]
pub(crate) fn memory_end() -> u32 {
    (memory_size(0) as u64 * 65536).min(MAX_END as u64) as u32
}

/// `#[global_allocator] static A: wasmheap::WasmHeap = wasmheap::WasmHeap;` in a Rust program
/// compiled to wasm32. Without atomics the program is single-threaded and there is no lock; built
/// with `+atomics` (threads over a shared memory, nightly `-Z build-std`) every call takes a spin
/// lock (`src/flavors/lock.rs`): one heap for every thread, any thread may free any block. It
/// exists on wasm32 only: a program also compiled for the host puts
/// `#[cfg(target_arch = "wasm32")]` on the static. Each `GlobalAlloc` call is O(1), plus the
/// bytes it copies or clears (`realloc` that moves, `alloc_zeroed`), a `memory.grow` when the heap
/// needs more memory, and with `+atomics` the wait for the lock.
pub struct WasmHeap;

// Safety: every block is at least `layout.size()` bytes at `layout.align()` (allocate_aligned),
// disjoint from every other live block, and stays so until it is freed; no two calls interleave:
// without atomics the program has one thread, with them every call holds the lock (`lock.rs`).
unsafe impl GlobalAlloc for WasmHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _lock = lock();
        heap().allocate_aligned(layout.size() as u32, layout.align() as u32) as *mut u8
    }

    /// Clears only memory that was used before: pages that `memory.grow` adds during this call
    /// are zero already (as the C `calloc` does).
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _lock = lock();
        // With threads the whole block is cleared: `memory.size` may lag another thread's growth
        // (V8), so pages that it grew and used could pass for fresh.
        let fresh_from = if cfg!(target_feature = "atomics") { u32::MAX } else { memory_end() };
        crate::flavors::c_api::zeroed(heap(), layout.size() as u32, layout.align() as u32, fresh_from) as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        let _lock = lock();
        heap().deallocate(ptr as u32)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _lock = lock();
        heap().reallocate_aligned(ptr as u32, new_size as u32, layout.align() as u32) as *mut u8
    }
}

impl WasmHeap {
    /// `check()` of the raw ABI on this heap: 0 when sound, else the code of the first broken
    /// invariant (CONTRACT.md, "`check()` codes"); `u32::MAX` if the heap could not even be set up.
    /// O(blocks + lists and bins): a diagnostic.
    pub fn check(&self) -> u32 {
        let _lock = lock();
        ready_heap().map_or(u32::MAX, |h| h.check())
    }

    /// The statistics of this heap (CONTRACT.md, "Statistics"); all zero if it could not be set up.
    /// O(blocks): a walk of every block.
    pub fn stats(&self) -> crate::Stats {
        let _lock = lock();
        ready_heap().map(|h| h.stats()).unwrap_or_default()
    }
}
