//! lol_alloc's `FreeListAllocator` (first fit over an address-ordered free list, O(free blocks)
//! per call) in `AssumeSingleThreaded`, as its README sets it up for single-threaded wasm.
#![no_std]

use lol_alloc::{AssumeSingleThreaded, FreeListAllocator};

// SAFETY: wasm32-unknown-unknown without the atomics feature is single-threaded.
static ALLOC: AssumeSingleThreaded<FreeListAllocator> = unsafe { AssumeSingleThreaded::new(FreeListAllocator::new()) };

peer_abi::export_raw_abi!(ALLOC);
