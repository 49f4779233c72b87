// The layout matrix (host-tests/tests/layouts.rs): `__heap_base` 16 bytes below the end of the
// initial memory (the nearest to 8 there is: wasm-ld aligns `__heap_base` to 16), placed by the pad
// WASMHEAP_PAD_BELOW16 that scripts/test measures and sets.
#![no_std]
layouts::program!("WASMHEAP_PAD_BELOW16");
