//! Fuzzing harness for the wasmheap core: an input decodes (with `arbitrary`) into a sequence of
//! heap operations, replayed against a heap in a host buffer and against a shadow model.
//!
//! After every operation the harness checks that:
//! - `verify()` is Ok;
//! - every live block keeps its contents, its alignment, its requested `size()`, lies inside the
//!   heap and inside the segment (mark level) the model says it belongs to, and no two live blocks
//!   (headers included) overlap;
//! - the statistics agree with the model: live blocks and bytes, peak, allocations, frees,
//!   reallocations, failures, rejected frees and marks, mark depth; the heap never grows past
//!   its buffer;
//! - a request that fits in the memory the pool can still give never fails, and a request that
//!   cannot succeed (too large, bad alignment, 255 marks deep) never succeeds;
//! - a pointer that is not live is rejected (`deallocate`, `reallocate`) and has `size()` 0;
//! - marks follow CONTRACT.md, "Marks": `free_to_mark` drops exactly the blocks allocated or moved
//!   after the mark, stale and bogus tokens are rejected, the floor rules of `free_all_mark` /
//!   `free_all` / `free_to_mark` below the floor hold; when the newest segment holds no live
//!   block, the top is right above its control block (memory is given back).
//!
//! The model predicts mark tokens exactly (`id << 8 | depth`, ids from the heap's clock: see
//! `src/core/marks.rs`), so that a bogus token that happens to be valid is judged correctly.
//!
//! User data is written so that every 8-aligned word has bit 2 (`RESERVED` in a header) set: an
//! interior pointer into written data is rejected by the cheap header filter, deterministically,

pub mod encode;
mod harness;
mod input;
pub mod seeds;

use arbitrary::Arbitrary;

pub use harness::Harness;
pub use input::{Align, Input, Limit, MarkRef, Op, Ptr, Size};

/// Where the heap starts in its buffer.
pub const START: u32 = 8;
/// The largest buffer (and pool limit) an input can ask for.
pub const MAX_BUFFER: u32 = 8 << 20;

/// Runs one input (it panics at the first check that fails).
pub fn run(input: &Input) {
    if let Some(mut h) = Harness::new(input) {
        h.run(&input.ops);
    }
}

/// Runs raw fuzzer bytes, as the libFuzzer target does.
pub fn run_bytes(data: &[u8]) {
    let u = arbitrary::Unstructured::new(data);
    if let Ok(input) = <Input as Arbitrary>::arbitrary_take_rest(u) {
        run(&input);
    }
}
