//! Deallocation: finding the live block behind a pointer (its tag), and freeing it onto a bin,
//! into the class lists or back to the top. O(1).

use crate::core::block::{self, BINNED, FREE, HEADER, PREV_FREE, SIZE_MASK};
use crate::core::heap::{Heap, Live, slot};
use crate::core::segment::{BIN_MAX, Segment};
use crate::core::source::Source;
use crate::core::stats::Event;

impl<S: Source> Heap<S> {
    /// The live block behind `payload`, or `None`. A block is live when `payload` is 8-aligned and
    /// between the first block and the top, its header is used, and the tag's check bits match
    /// its offset, its size and the epoch of the segment that the depth in its tag picks. (A
    /// dropped depth picks segment 0, of another epoch: see `Root::segments`. Whether the
    /// size stays inside the segment needs no test of its own: the size is in the hash, so a
    /// header with a wrong size fails like any other, with probability 1 - 2^-19.)
    #[inline(always)]
    pub(crate) fn live(self, payload: u32) -> Option<Live> {
        // SAFETY: the only borrow of the root until this function returns; the calls below only
        // compute offsets and load words through `mem`, outside the root.
        let root = unsafe { self.root() };
        if payload % 8 != 0 || payload < self.first_payload() || payload >= root.top {
            return None;
        }
        let block = payload - HEADER;
        let header = self.mem.load(block);
        let tag = self.mem.load_at(block, 4);
        let depth = block::tag_depth(tag);
        if header & (FREE | BINNED) != 0 {
            return None;
        }
        let segment = root.segments[slot(depth)];
        let size = header & SIZE_MASK;
        let key = self.mem.load_at(segment, HEADER + core::mem::offset_of!(Segment, key) as u32);
        if !block::tag_matches(tag, block, key, size) {
            return None;
        }
        Some(Live { block, header, size, request: block::tag_request_unchecked(tag, size), segment })
    }

    /// The size last requested for the live block at `payload`; 0 for anything else. O(1).
    pub fn size(self, payload: u32) -> u32 {
        self.live(payload).map_or(0, |live| live.request)
    }

    /// Frees the live block at `payload`, merging it with free neighbours or giving it back to the
    /// top. 0 does nothing; anything else that is not a live block (double free, foreign,
    /// interior, misaligned, released by a mark) changes nothing but `rejected_frees`. O(1).
    pub fn deallocate(self, payload: u32) {
        let Some(live) = self.live(payload) else {
            if payload != 0 {
                self.rejected();
            }
            return;
        };
        // SAFETY: `live.segment` is a control block the root names (`live`); `segment` is the only
        // borrow of its record during `free_block`, which takes the root but no segment.
        let segment = unsafe { self.segment_at(live.segment) };
        self.count(Event::Free);
        self.free_block(segment, live);
    }

    #[cold]
    #[inline(never)]
    pub(super) fn rejected(self) {
        self.count(Event::RejectedFree);
    }

    /// Frees a live block: the top comes down to it when it is the last
    /// block and the one before it is used; it goes onto its bin when it is small and both its
    /// neighbours are used; otherwise it is merged into the lists or the top (`release`).
    #[inline(always)]
    fn free_block(self, segment: &mut Segment, live: Live) {
        let Live { block, header, size, .. } = live;
        let next = block + size;
        // SAFETY: `root` is read once, before the calls below that take the root again.
        let root = unsafe { self.root() };
        if next == root.top {
            if header & PREV_FREE == 0 {
                // The last block, after a used one: the top comes down to it.
                self.lower_top(block);
                self.spoil_header(block);
                return;
            }
        } else if size <= BIN_MAX {
            let next_header = self.mem.load(next);
            if (header | next_header) & (PREV_FREE | FREE) == 0 {
                self.mem.store(block, size | FREE | BINNED);
                self.mem.store(next - 4, size);
                self.mem.store(next, next_header | PREV_FREE);
                segment.bin(self.mem, block, size);
                return;
            }
        }
        self.release(segment, block, size);
    }

    /// Frees the used block `[block, block + size)` of `segment`, merging it with free
    /// neighbours, or giving it back to the top when it is the last block. A listed free block
    /// before it that the merge leaves in its class is grown where it is, not taken off its list
    /// and put back (the lists end the same).
    pub(crate) fn release(self, segment: &mut Segment, block: u32, size: u32) {
        let (mut start, mut total) = (block, size);
        let header = self.mem.load(block);
        let mut prev_header = 0;
        if header & PREV_FREE != 0 {
            start -= self.mem.load(block - 4);
            prev_header = self.mem.load(start);
            total += prev_header & SIZE_MASK;
        }
        let next = block + size;
        // SAFETY: `root` is read once, before the calls below that take the root again.
        let root = unsafe { self.root() };
        if next == root.top {
            if start != block {
                segment.unlist(self.mem, start, prev_header);
            }
            self.lower_top(start);
            self.spoil_header(block);
            return;
        }
        if start != block {
            self.spoil_header(block);
        }
        let next_header = self.mem.load(next);
        if next_header & FREE != 0 {
            segment.unlist(self.mem, next, next_header);
            total += next_header & SIZE_MASK;
        } else {
            self.mem.store(next, next_header | PREV_FREE);
        }
        if start != block {
            if segment.grew_in_place(self.mem, start, prev_header, total) {
                self.mem.store(start, total | FREE);
                self.mem.store(start + total - 4, total);
                return;
            }
            segment.unlist(self.mem, start, prev_header);
        }
        self.make_free(segment, start, total);
    }

    /// Marks the header of a released block free and spoils its tag where no new header will be
    /// written over them (inside a merged block, or above the top): a second `deallocate` of the
    /// same pointer must find no live block, whatever lands in the header word later. Once per
    /// block: spoiling twice would restore the tag.
    fn spoil_header(self, block: u32) {
        self.mem.store(block, self.mem.load(block) | FREE);
        self.mem.store_at(block, 4, block::spoiled(self.mem.load_at(block, 4)));
    }
}
