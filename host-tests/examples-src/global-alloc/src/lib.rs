//! A Rust program compiled to wasm32-unknown-unknown with wasmheap as its global allocator.
//!
//!     cargo build --release --target wasm32-unknown-unknown
//!
//! Exports `run(seed, rounds) -> u64` (the workload's checksum), and the heap's `check()` and
//! statistics (`stat(i)`: field i of README's "Statistics"), so that the host can check the
//! heap after the program ran. host-tests/tests/global_alloc.rs runs it in wasmtime.

mod workload;

#[global_allocator]
static HEAP: wasmheap::WasmHeap = wasmheap::WasmHeap;

#[unsafe(no_mangle)]
pub extern "C" fn run(seed: u32, rounds: u32) -> u64 {
    workload::workload(seed, rounds)
}

/// 0 when the heap is sound (README, "`check()` codes").
#[unsafe(no_mangle)]
pub extern "C" fn check() -> u32 {
    HEAP.check()
}

/// Field `i` of the heap's statistics, in README's order (0: live_blocks, 1: live_bytes, ...).
#[unsafe(no_mangle)]
pub extern "C" fn stat(i: u32) -> u32 {
    let s = HEAP.stats();
    let fields = [
        s.live_blocks,
        s.live_bytes,
        s.peak_live_bytes,
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
