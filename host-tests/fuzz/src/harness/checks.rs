//! The checks after every step: everything the model knows, compared with the heap; and the run
//! of an input's operations.

use wasmheap::CONTROL_SIZE;
use wasmheap::block::HEADER;
use wasmheap_model::Counters;

use super::Harness;
use crate::{Op, START};

/// Total written bytes up to which every step checks every byte of every live block; above it a
/// step checks a window at each end of each block (the last step checks everything).
const FULL_CHECK_BYTES: u64 = 256 << 10;
const WINDOW: u32 = 1024;

/// The core's statistics as the model reads them.
fn model_stats(s: &wasmheap::Stats) -> wasmheap_model::Stats {
    // Safety: wasmheap::Stats is #[repr(C)] with sixteen u32 fields (src/core/stats.rs asserts it), so
    // it has the size, alignment and validity of [u32; 16]; the model's order is the same.
    wasmheap_model::Stats::from_words(unsafe { std::mem::transmute::<wasmheap::Stats, [u32; 16]>(*s) })
}

impl Harness {
    pub fn check(&mut self, full: bool) {
        let step = self.step;
        let heap = self.heap();
        if let Err(broken) = heap.verify() {
            panic!("step {step}: verify() = {broken:?}");
        }
        let s = heap.stats();
        let end = s.heap_start as u64 + s.heap_bytes as u64;
        assert!(end <= self.buffer_len as u64, "step {step}: the heap grew past its buffer: {s:?}");
        assert!(s.heap_top as u64 <= end && s.heap_start == START, "step {step}: {s:?}");
        assert!(s.free_bytes <= s.heap_bytes && s.largest_free <= s.free_bytes, "step {step}: {s:?}");
        assert!(s.memory_grows >= self.memory_grows && end >= self.end as u64, "step {step}: memory shrank: {s:?}");
        (self.memory_grows, self.end) = (s.memory_grows, end as u32);
        if let Err(e) = self.counters.compare(&Counters::of(&model_stats(&s)), false) {
            panic!("step {step}: {e}");
        }
        assert_eq!(self.live.len(), self.counters.live_blocks as usize, "step {step}: the model's blocks and counters");
        assert_eq!(s.mark_depth, self.depth(), "step {step}: mark depth (left: heap, right: model)");

        // where each segment ends: the next one's control block, or the top
        let segment_end = |d: u32| self.segments.get(d as usize + 1).map_or(s.heap_top, |next| next.control);
        let newest = self.depth();
        let newest_empty = self.live.values().all(|b| b.seg != newest as usize);
        assert_eq!(
            newest_empty,
            s.heap_top == self.segments[newest as usize].control + CONTROL_SIZE,
            "step {step}: the newest segment is empty iff the top is right above its control block: {s:?}"
        );

        let full = full || self.live.values().map(|b| b.tag.filled as u64).sum::<u64>() <= FULL_CHECK_BYTES;
        let mut prev_end = self.first_payload() as u64 - HEADER as u64;
        for (&p, b) in &self.live {
            let seg = self.segments[b.seg];
            assert!(p % b.align.max(HEADER) == 0, "step {step}: {p:#x} lost its alignment {}", b.align);
            assert!(
                p - HEADER >= seg.control + CONTROL_SIZE
                    && p as u64 + b.size as u64 <= segment_end(b.seg as u32) as u64,
                "step {step}: {p:#x} ({b:?}) outside its segment"
            );
            assert!(p as u64 - HEADER as u64 >= prev_end, "step {step}: {p:#x} overlaps the block below");
            prev_end = p as u64 + b.size as u64;
            assert_eq!(heap.size(p), b.size, "step {step}: size({p:#x})");
            if full || b.tag.filled <= 2 * WINDOW {
                self.check_bytes(p, b, 0, b.tag.filled);
            } else {
                self.check_bytes(p, b, 0, WINDOW);
                self.check_bytes(p, b, b.tag.filled - WINDOW, b.tag.filled);
            }
        }
    }

    /// Runs the operations, checking after each, then frees everything.
    pub fn run(&mut self, ops: &[Op]) {
        for (i, op) in ops.iter().enumerate() {
            self.step = i;
            self.apply(op);
            self.check(false);
        }
        self.check(true);
        // everything can be freed, in any order, wherever it lives
        self.step = ops.len();
        let all: Vec<u32> = self.live.keys().copied().collect();
        for p in all.into_iter().rev() {
            self.deallocate(p);
        }
        self.check(true);
    }
}
