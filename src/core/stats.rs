//! Statistics, as `stats(out_ptr)` writes them: 16 `u32` in the order of the fields below.

use crate::core::block::{self, FREE, MIN_BLOCK, SIZE_MASK};
use crate::core::heap::{Heap, slot};
use crate::core::source::Source;

/// What [`Heap::stats`] finds: the raw ABI's 16 words, in this order (`src/CONTRACT.md`,
/// "Statistics").
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Blocks currently allocated.
    pub live_blocks: u32,
    /// The sum of their requested sizes.
    pub live_bytes: u32,
    /// The most bytes the heap has spanned, from its start to its top's high-water mark (what a
    /// fixed pool would need). The debug flavor reports the peak of `live_bytes` here instead.
    pub peak_bytes: u32,
    /// Bytes from the heap's start (its records) to the end of the memory it manages.
    pub heap_bytes: u32,
    /// Bytes in free and binned blocks, headers included, plus the untouched space above the top.
    pub free_bytes: u32,
    /// The largest free block, or the space above the top if larger.
    pub largest_free: u32,
    /// Successful `allocate`, `allocate_aligned` and `reallocate(0, n)`.
    pub allocations: u32,
    /// Successful `deallocate`.
    pub frees: u32,
    /// Successful `reallocate` of a live block.
    pub reallocations: u32,
    /// Requests that returned 0: out of memory, too large, a bad `align`, a mark's record.
    pub failures: u32,
    /// `deallocate` and `reallocate` of a pointer that is not a live block.
    pub rejected_frees: u32,
    /// `free_to_mark` with a stale or made-up mark.
    pub rejected_marks: u32,
    /// Segments above the base: marks and floors in force.
    pub mark_depth: u32,
    /// Times memory grew (`Source::grow` calls that succeeded).
    pub memory_grows: u32,
    /// Where the heap's records (its root) are; its blocks follow them, or, in a Rust program's
    /// heap (`WasmHeap`), start at `__heap_base`.
    pub heap_start: u32,
    /// The top: everything above it, up to the end of memory, is free.
    pub heap_top: u32,
}

pub const STATS_WORDS: usize = size_of::<Stats>() / 4;
const _: () = assert!(STATS_WORDS == 16);

/// An event that the calls count in the root, for `stats()` (the counter of the same name). What
/// is live and free is not counted: `stats()` walks the blocks for it.
#[derive(Clone, Copy)]
pub(crate) enum Event {
    /// A block handed out by `allocate`, `allocate_aligned`, `allocate16` or `reallocate(0, n)`.
    Allocation,
    /// A live block freed by `deallocate`.
    Free,
    /// A live block reallocated, in place or moved.
    Reallocation,
    /// A request that returned 0 (memory, size, `align`, or a mark's control block).
    Failure,
    /// `deallocate` or `reallocate` of a pointer that is not live.
    RejectedFree,
    /// `free_to_mark` of a stale or made-up mark.
    RejectedMark,
    /// A `grow` of the source that succeeded.
    MemoryGrow,
}

impl<S: Source> Heap<S> {
    /// Counts one `event` in the root. O(1): one add, the event known where it is inlined.
    #[inline(always)]
    pub(crate) fn count(self, event: Event) {
        // SAFETY: the root's borrow ends in this function, which calls nothing.
        let root = unsafe { self.root() };
        let counter = match event {
            Event::Allocation => &mut root.allocations,
            Event::Free => &mut root.frees,
            Event::Reallocation => &mut root.reallocations,
            Event::Failure => &mut root.failures,
            Event::RejectedFree => &mut root.rejected_frees,
            Event::RejectedMark => &mut root.rejected_marks,
            Event::MemoryGrow => &mut root.memory_grows,
        };
        *counter += 1;
    }

    /// Costs a walk of every block (O(blocks)): the calls keep only the event counts, so that
    /// what is live and free is found here, not counted on every call.
    pub fn stats(self) -> Stats {
        // SAFETY: each borrow of the root here ends before the next is taken (`walk_segment`
        // takes it too).
        let root = unsafe { self.root() };
        let (top, end) = (root.top, root.end);
        let mut walk = Walk { live_blocks: 0, live_bytes: 0, free_bytes: end - top, largest_free: end - top };
        // SAFETY: as above.
        for depth in 0..=unsafe { self.root() }.depth {
            self.walk_segment(depth, &mut walk);
        }
        // SAFETY: as above.
        let root = unsafe { self.root() };
        Stats {
            live_blocks: walk.live_blocks,
            live_bytes: walk.live_bytes,
            peak_bytes: root.peak_top.max(top) - self.start,
            heap_bytes: end - self.start,
            free_bytes: walk.free_bytes,
            largest_free: walk.largest_free,
            allocations: root.allocations,
            frees: root.frees,
            reallocations: root.reallocations,
            failures: root.failures,
            rejected_frees: root.rejected_frees,
            rejected_marks: root.rejected_marks,
            mark_depth: root.depth,
            memory_grows: root.memory_grows,
            heap_start: self.start,
            heap_top: top,
        }
    }

    /// Adds up the blocks of the segment at `depth`. A block whose size cannot be right (a heap
    /// that `check()` finds broken) ends the walk of its segment.
    fn walk_segment(self, depth: u32, walk: &mut Walk) {
        let end = self.segment_end(depth);
        // SAFETY: the root's borrow ends when the argument is read, before `blocks_of` takes it.
        let mut block = self.blocks_of(unsafe { self.root() }.segments[slot(depth)]);
        while block < end {
            let header = self.mem.load(block);
            let size = header & SIZE_MASK;
            if size < MIN_BLOCK || size > end - block {
                return;
            }
            if header & FREE != 0 {
                walk.free_bytes += size;
                walk.largest_free = walk.largest_free.max(size);
            } else {
                walk.live_blocks += 1;
                walk.live_bytes += block::tag_request_unchecked(self.mem.load_at(block, 4), size);
            }
            block += size;
        }
    }
}

/// What `stats()` adds up in its walk.
struct Walk {
    live_blocks: u32,
    live_bytes: u32,
    free_bytes: u32,
    largest_free: u32,
}
