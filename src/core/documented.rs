//! The figures the docs state, checked against the code: a size, a count or a limit written in
//! prose (`src/CONTRACT.md`, `src/DESIGN.md`, `wasm/FLAVORS.md`) is asserted here from the constant it names, so
//! that a change of the code that moves it fails until the prose says the new figure. A test,
//! not a build step: the docs stay plain Markdown. (The README's and BENCHMARKS.md's benchmark
//! figures are written by `scripts/bench`; the README's list of what `scripts/test` skips is
//! checked by `scripts/doctest`.)

use crate::core::block::{MAX_REQUEST, MIN_BLOCK};
use crate::core::classes::{FL_COUNT, SL_COUNT};
use crate::core::heap::{CONTROL_SIZE, MAX_ALIGN, MAX_DEPTH, RECORDS_SIZE, ROOT_SIZE};
use crate::core::segment::BIN_MAX;
use crate::core::source::MAX_END;
use crate::core::stats::STATS_WORDS;
use std::format;
use std::string::String;

const CONTRACT: &str = include_str!("../CONTRACT.md");
const DESIGN: &str = include_str!("../DESIGN.md");
const FLAVORS: &str = include_str!("../../wasm/FLAVORS.md");

/// `doc` holds `text` (its lines rewrapped: any run of spaces and newlines is one space).
#[track_caller]
fn says(doc: &str, name: &str, text: &str) {
    let flat = |s: &str| s.split_whitespace().collect::<std::vec::Vec<_>>().join(" ");
    assert!(flat(doc).contains(&flat(text)), "{name} should say {text:?}: the code's figure; fix the prose");
}

/// `0xFFFE_0000`: a u32 as the docs write it, in groups of four hex digits.
fn hex(x: u32) -> String {
    format!("0x{:04X}_{:04X}", x >> 16, x & 0xFFFF)
}

#[test]
#[cfg_attr(miri, ignore = "string search over the Markdown, no unsafe code: Miri adds nothing")]
fn the_contract_states_the_codes_sizes_and_limits() {
    says(CONTRACT, "CONTRACT.md", &format!("the root ({ROOT_SIZE} bytes:"));
    says(CONTRACT, "CONTRACT.md", &format!("each segment's control block ({CONTROL_SIZE} bytes)"));
    says(CONTRACT, "CONTRACT.md", &format!("the mark's record ({CONTROL_SIZE} bytes)"));
    says(CONTRACT, "CONTRACT.md", &format!("(up to {BIN_MAX} bytes) a bin"));
    says(CONTRACT, "CONTRACT.md", &format!("marks are nested {MAX_DEPTH} deep"));
    says(CONTRACT, "CONTRACT.md", &format!("Marks: {MAX_DEPTH} segments above the base"));
    says(CONTRACT, "CONTRACT.md", &format!("a power of two from 1 to {MAX_ALIGN} (below 8 gives 8)"));
    says(CONTRACT, "CONTRACT.md", &format!("`MAX_REQUEST` = {} bytes", hex(MAX_REQUEST)));
    says(CONTRACT, "CONTRACT.md", &format!("4 GiB memory less 8 bytes ({})", hex(MAX_END)));
    says(CONTRACT, "CONTRACT.md", &format!("({STATS_WORDS} `u32`, {} bytes, 4-byte aligned)", STATS_WORDS * 4));
    // `check()` visits every class list and every bin of each segment.
    let lists = FL_COUNT * SL_COUNT;
    let bins = ((BIN_MAX - MIN_BLOCK) / 8 + 1) as usize;
    says(CONTRACT, "CONTRACT.md", &format!("O(blocks + {} lists and bins per segment)", lists + bins));
    // What a free block keeps of itself, which `discardable` does not list.
    let (head, tail) = (crate::core::discard::FREE_HEAD, crate::core::discard::FREE_TAIL);
    says(CONTRACT, "CONTRACT.md", &format!("inside free blocks (all but their first {head} and last {tail} bytes)"));
    says(CONTRACT, "CONTRACT.md", &format!("the {head} bytes after the block (the rest's size word and links)"));
    says(CONTRACT, "CONTRACT.md", &format!("the gap's first {head} bytes and its last {tail}"));
}

#[test]
#[cfg_attr(miri, ignore = "string search over the Markdown, no unsafe code: Miri adds nothing")]
fn the_flavors_page_states_the_record_sizes() {
    says(FLAVORS, "wasm/FLAVORS.md", &format!("the heap's records, {RECORDS_SIZE} bytes,"));
    says(
        FLAVORS,
        "wasm/FLAVORS.md",
        &format!(
            "the heap's own records take {RECORDS_SIZE} bytes (root and first segment), each mark or floor {CONTROL_SIZE} more"
        ),
    );
}

#[test]
#[cfg_attr(miri, ignore = "string search over the Markdown, no unsafe code: Miri adds nothing")]
fn the_design_states_the_limits() {
    says(DESIGN, "DESIGN.md", &format!("**`MAX_REQUEST` = {}**", hex(MAX_REQUEST)));
    let depth_bits = crate::core::block::DEPTH_BITS;
    says(
        DESIGN,
        "DESIGN.md",
        &format!("**{MAX_DEPTH} nested marks** at most: the depth lives in {depth_bits} bits of the tag."),
    );
}
