// The layout matrix (host-tests/tests/layouts.rs): `__heap_base` mid-page, 32 KiB below the end of
// the initial memory, placed by the pad WASMHEAP_PAD_MIDPAGE that scripts/test measures and sets.
#![no_std]
layouts::program!("WASMHEAP_PAD_MIDPAGE");
