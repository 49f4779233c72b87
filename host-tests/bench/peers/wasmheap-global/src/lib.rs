//! wasmheap as a user's Rust program gets it: the crate's [`wasmheap::WasmHeap`] as the
//! `#[global_allocator]`, compiled with the program (here the peers' release profile) rather than
//! the shipped `wasm/wasmheap.wasm`, and called through the same `GlobalAlloc` wrapper (8-byte
//! size header) as every peer, so that it is measured exactly as they are.
#![no_std]

#[global_allocator]
static ALLOC: wasmheap::WasmHeap = wasmheap::WasmHeap;

peer_abi::export_raw_abi!(ALLOC);
