//! A real Rust program whose heap traffic becomes the `recorded` benchmark trace.
//!
//! The workload, repeated `rounds` times with a fixed seed: write a JSON document of random
//! records with `format!`/`push_str`, parse it into a tree of `String`, `Vec` and `BTreeMap`,
//! index it (tag -> ids, word -> count, both `BTreeMap`s; stable sort of the word counts), build a
//! summary document, serialize it, parse it again and compare, and keep the last few serialized
//! summaries in a `VecDeque` (so that some blocks outlive a round).
//!
//! Its `GlobalAlloc` calls are logged to the host by the `recording` crate (host-tests/bench/recording).
#![no_std]

extern crate alloc;

mod workload;

use alloc::collections::VecDeque;
use alloc::string::String;
use core::arch::wasm32;
use workload::{Rng, gen_doc, parse, serialize, summarize};

// The recording allocator and the panic handler.
extern crate recording;

/// Runs the workload `rounds` times; returns a checksum (so that nothing is optimized away).
#[unsafe(no_mangle)]
pub extern "C" fn run(rounds: u32) -> u32 {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut kept: VecDeque<String> = VecDeque::new();
    let mut sum = 0u32;
    let mut next_id = 0;
    for _ in 0..rounds {
        let n = 20 + rng.below(100);
        let text = gen_doc(&mut rng, n, next_id);
        next_id += n;
        let doc = parse(&text);
        drop(text);
        let summary = summarize(&doc);
        let mut out = String::new();
        serialize(&summary, &mut out);
        if parse(&out) != summary {
            wasm32::unreachable();
        }
        // Round-trip the whole document too: serialize, parse, compare.
        let mut again = String::new();
        serialize(&doc, &mut again);
        if parse(&again) != doc {
            wasm32::unreachable();
        }
        sum = sum.wrapping_mul(31).wrapping_add(out.len() as u32);
        kept.push_back(out);
        if kept.len() > 4 {
            kept.pop_front();
        }
    }
    sum
}
