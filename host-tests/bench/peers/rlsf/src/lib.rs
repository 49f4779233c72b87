//! rlsf's `GlobalTlsf` (TLSF with default options), which takes its pools from `memory.grow`
//! on wasm32 and coalesces adjacent pools.
#![no_std]

static ALLOC: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

peer_abi::export_raw_abi!(ALLOC);
