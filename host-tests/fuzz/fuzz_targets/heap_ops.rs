//! libFuzzer target: heap operations against the shadow model (see `src/lib.rs` and `src/harness/checks.rs`).
//!
//! Options from the environment (see `Options::from_env`): `WASMHEAP_FUZZ_AVOID_KNOWN=1` skips
//! the operations that trigger a known open bug, so that a campaign goes on past it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wasmheap_fuzz::{Input, Options, run};

fn options() -> Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    *OPTIONS.get_or_init(Options::from_env)
}

fuzz_target!(|input: Input| {
    run(&input, options());
});
