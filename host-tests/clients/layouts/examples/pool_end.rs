// The layout matrix (host-tests/tests/layouts.rs): wasmheap's static pool (feature `static-pool`) as
// the global allocator's heap, the pool ending exactly at the end of a page: its size,
// WASMHEAP_POOL_BYTES, is measured and set by scripts/test. The heap's records sit at the start of
// the pool.
#![no_std]
layouts::program!("WASMHEAP_PAD_POOL_END");
