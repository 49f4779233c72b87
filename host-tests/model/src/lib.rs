//! The shadow model of a wasmheap heap, shared by everything that checks one: the core's unit
//! tests (`src/core/tests/`), the wasmtime suite (`host-tests/src/model.rs`), the soak
//! (`host-tests/src/bin/soak/`) and the fuzz harness (`host-tests/fuzz/`). It follows
//! src/CONTRACT.md ("The raw ABI", "Marks", "Statistics"); a change to a rule of the heap is made
//! here, once.
//!
//! * [`rules`]: what a call must refuse (bad alignments, the depth limit, the largest request);
//! * [`Counters`]: the counters of `stats()` as the calls so far must have moved them;
//! * [`Segments`]: the stack of segments (the base, marks with their tokens, floors) and what
//!   `free_to_mark`, `free_all_mark` and `free_all` do to it;
//! * [`Model`]: the live blocks (pointer, size, alignment, segment, a tag for their contents) over
//!   the segments and counters: each method takes what a call of the heap returned, checks it
//!   against the rules and updates the model;
//! * [`Stats`]: the 16 words that `stats(out_ptr)` writes;
//! * [`Rng`] and [`pattern`]: the one random generator (SplitMix64) and the contents it writes.
//!
//! It has no dependencies (no wasmtime, not even wasmheap): the drivers call the heap however
//! they reach it (a wasmtime instance, a native `Heap` in a host buffer) and hand the results over.

mod counters;
pub mod history;
mod model;
mod rng;
pub mod rules;
mod segments;
mod stats;

pub use counters::Counters;
pub use history::History;
pub use model::{Block, Model};
pub use rng::{Rng, mix, pattern};
pub use rules::{MAX_ALIGN, MAX_DEPTH, MAX_REQUEST};
pub use segments::{Seg, Segments};
pub use stats::Stats;

/// What a check returns on failure: a sentence that says what went wrong.
pub type Check<T = ()> = Result<T, String>;

/// Returns `Err(format!(...))` from the function unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(::std::format!($($fmt)*));
        }
    };
}
