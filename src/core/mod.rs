//! The core: the allocator itself, platform-free, in `u32` offsets over a [`Mem`](mem::Mem) that a
//! [`Source`](source::Source) grows. Unit-tested natively (`tests/`, and tests beside the code).
//!
//! Reading order: `block.rs` (layout), `classes.rs` (size classes), `segment.rs` (lists, bins),
//! `heap.rs` (the algorithm), `free.rs`, `realloc.rs`, `marks.rs`, `check.rs`, `stats.rs`,
//! `discard.rs`; `mem.rs` and `source.rs` are the memory underneath.

pub mod block;
pub(crate) mod check;
pub(crate) mod classes;
pub(crate) mod discard;
pub(crate) mod free;
pub(crate) mod heap;
pub(crate) mod marks;
pub(crate) mod mem;
pub(crate) mod realloc;
pub(crate) mod segment;
pub mod source;
pub(crate) mod stats;

#[cfg(test)]
mod documented;
#[cfg(test)]
mod tests;
