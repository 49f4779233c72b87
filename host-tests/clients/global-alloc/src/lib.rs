//! A Rust program compiled to wasm32-unknown-unknown with wasmheap as its global allocator.
//!
//!     cargo build --release --target wasm32-unknown-unknown
//!
//! Exports `run(seed, rounds) -> u64` (the workload's checksum), and the heap's `check()` and
//! statistics (`stat(i)`: field i of CONTRACT.md's "Statistics"), so that the host can check the
//! heap after the program ran. host-tests/tests/global_alloc.rs runs it in wasmtime.

mod workload;

#[global_allocator]
static HEAP: wasmheap::WasmHeap = wasmheap::WasmHeap;

#[unsafe(no_mangle)]
pub extern "C" fn run(seed: u32, rounds: u32) -> u64 {
    workload::workload(seed, rounds)
}

/// 0 when the heap is sound (src/CONTRACT.md, "`check()` codes").
#[unsafe(no_mangle)]
pub extern "C" fn check() -> u32 {
    HEAP.check()
}

/// Field `i` of the heap's statistics, in CONTRACT.md's order (0: live_blocks, 1: live_bytes, ...).
#[unsafe(no_mangle)]
pub extern "C" fn stat(i: u32) -> u32 {
    let s = HEAP.stats();
    let fields = [
        s.live_blocks,
        s.live_bytes,
        s.peak_bytes,
        s.heap_bytes,
        s.free_bytes,
        s.largest_free,
        s.allocations,
        s.frees,
        s.reallocations,
        s.failures,
        s.rejected_frees,
        s.rejected_marks,
        s.mark_depth,
        s.memory_grows,
        s.heap_start,
        s.heap_top,
    ];
    fields.get(i as usize).copied().unwrap_or(u32::MAX)
}

/// `vec![0u8; n]`, which `GlobalAlloc::alloc_zeroed` serves, kept alive: returns its address (0
/// when out of memory). The host reads it and measures the fuel: memory fresh from `memory.grow`
/// is not cleared again.
#[unsafe(no_mangle)]
pub extern "C" fn zeroed_alloc(n: u32) -> u32 {
    let v = vec![0u8; n as usize];
    Box::leak(v.into_boxed_slice()).as_mut_ptr() as u32
}

/// Frees a block of `zeroed_alloc(n)`.
#[unsafe(no_mangle)]
pub extern "C" fn zeroed_free(ptr: u32, n: u32) {
    // SAFETY: the host passes back a pointer and length from `zeroed_alloc(n)`, once: a boxed
    // slice of `n` bytes that this allocator made and nothing else owns now.
    drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr as *mut u8, n as usize)) });
}

/// Allocates `n` bytes of 0xAB and frees them: the next `zeroed_alloc(n)` reuses dirty memory.
#[unsafe(no_mangle)]
pub extern "C" fn dirty(n: u32) {
    core::hint::black_box(vec![0xABu8; n as usize]);
}
