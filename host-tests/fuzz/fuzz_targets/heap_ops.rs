//! libFuzzer target: heap operations against the shadow model (see `src/lib.rs` and `src/harness/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmheap_fuzz::{Input, run};

fuzz_target!(|input: Input| {
    run(&input);
});
