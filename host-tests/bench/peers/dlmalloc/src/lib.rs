//! dlmalloc-rs, the allocator behind Rust's std on wasm32-unknown-unknown, through its
//! `GlobalDlmalloc` (`global` feature; the lock is a no-op on single-threaded wasm).
#![no_std]

static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

peer_abi::export_raw_abi!(ALLOC);
