//! talc 5, set up as its README_WASM recommends for single-threaded wasm:
//! `talc::wasm::new_wasm_dynamic_allocator()` (a `TalcSyncCell` with `WasmGrowAndExtend` and
//! `WasmBinning`), which grows memory on demand and extends the heap in place.
#![no_std]

// `#[global_allocator]` as in the docs; it is also required here because talc links the `alloc`
// crate (through allocator-api2). Nothing in this module allocates through it but the exports.
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

peer_abi::export_raw_abi!(ALLOC);
