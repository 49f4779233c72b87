//! Statistics, as `stats(out_ptr)` writes them: 16 `u32` in the order of the fields below.

use crate::heap::Heap;
use crate::source::Source;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub live_blocks: u32,
    pub live_bytes: u32,
    pub peak_live_bytes: u32,
    /// Bytes from the heap's start (its records) to the end of the memory it manages.
    pub heap_bytes: u32,
    /// Bytes in free and binned blocks, headers included, plus the untouched space above the top.
    pub free_bytes: u32,
    /// The largest free block, or the space above the top if larger.
    pub largest_free: u32,
    pub allocations: u32,
    pub frees: u32,
    pub reallocations: u32,
    pub failures: u32,
    pub rejected_frees: u32,
    pub rejected_marks: u32,
    pub mark_depth: u32,
    pub memory_grows: u32,
    /// Where the heap's records (its root) are; its blocks follow them, or, in a Rust program's
    /// heap (`WasmHeap`), start at `__heap_base`.
    pub heap_start: u32,
    pub heap_top: u32,
}

pub const STATS_WORDS: usize = size_of::<Stats>() / 4;
const _: () = assert!(STATS_WORDS == 16);

impl<S: Source> Heap<S> {
    /// Costs O(marks) plus the length of each segment's highest free list.
    pub fn stats(self) -> Stats {
        let above_top = self.root().end - self.root().top;
        let (mut live_blocks, mut free_bytes, mut largest_free) = (0, above_top, above_top);
        for depth in 0..=self.root().depth {
            let segment = self.segment(depth);
            live_blocks += segment.live.count();
            free_bytes += segment.free_bytes + segment.binned_bytes;
            largest_free = largest_free.max(segment.largest_free(self.mem));
        }
        let root = self.root();
        Stats {
            live_blocks,
            live_bytes: root.frees_and_live_bytes.bytes(),
            peak_live_bytes: root.peak_live_bytes,
            heap_bytes: root.end - self.start,
            free_bytes,
            largest_free,
            allocations: live_blocks.wrapping_add(root.frees_and_live_bytes.count()).wrapping_add(root.dropped_blocks),
            frees: root.frees_and_live_bytes.count(),
            reallocations: root.reallocations,
            failures: root.failures,
            rejected_frees: root.rejected_frees,
            rejected_marks: root.rejected_marks,
            mark_depth: root.depth,
            memory_grows: root.memory_grows,
            heap_start: self.start,
            heap_top: root.top,
        }
    }
}
