// The layout matrix (host-tests/tests/layouts.rs): `__heap_base` 1 KiB below the end of the initial
// memory, placed by the pad WASMHEAP_PAD_BELOW1K that scripts/test measures and sets.
#![no_std]
layouts::program!("WASMHEAP_PAD_BELOW1K");
