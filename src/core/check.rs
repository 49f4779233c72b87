//! `check()`: walks the whole heap and verifies every invariant. O(blocks): a diagnostic.

use crate::core::block::{self, BINNED, FREE, MIN_BLOCK, PREV_FREE, SIZE_MASK};
use crate::core::classes::{FL_COUNT, SL_COUNT, class};
use crate::core::heap::{CONTROL_SIZE, Heap, MAX_DEPTH, ROOT_SIZE, slot};
use crate::core::segment::{BIN_MAX, Segment};
use crate::core::source::Source;

/// The first broken invariant, as `check()` reports it: `check()` returns the variant's number
/// (0 when the heap is sound). The numbers are part of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Broken {
    /// Code 1: the root's top, end of memory, depth or floor out of bounds.
    Root = 1,
    /// Code 2: a segment record is not where the root's table says, the segments are out of
    /// order, or a slot of the table above the depth names anything but segment 0 (or nothing).
    Segment = 2,
    /// Code 3: a block's size is smaller than 16 or runs past the end of its segment, or a used
    /// block is marked `BINNED`. (The size is the header without its three flag bits: always a
    /// multiple of 8, whatever the header word holds.)
    BlockSize = 3,
    /// Code 4: a `PREV_FREE` flag disagrees with the previous block.
    PrevFree = 4,
    /// Code 5: two adjacent free blocks (coalescing missed).
    Unmerged = 5,
    /// Code 6: a free block's footer differs from its size.
    Footer = 6,
    /// Code 7: a used block's tag is wrong (check bits, depth, slack larger than its capacity).
    Tag = 7,
    /// Code 8: a class list is broken: a bad link, a block not free or binned, of the wrong class,
    /// or outside its segment.
    List = 8,
    /// Code 9: the bitmaps disagree with the free lists.
    Bitmap = 9,
    /// Code 10: a free block is not on its class list.
    Unlisted = 10,
    /// Code 11: the counters disagree with the walk: more live blocks than allocations less
    /// frees (blocks released by marks are neither live nor freed).
    Counters = 11,
    /// Code 12: a free block right below the top (it should have been given back).
    FreeBelowTop = 12,
    /// Code 13: a bin is broken: a bad link, a block not free and binned or of another size,
    /// outside its segment, a binned block on no bin, or the bin bitmap disagrees with the bins.
    Bin = 13,
}

fn ensure(ok: bool, broken: Broken) -> Result<(), Broken> {
    if ok { Ok(()) } else { Err(broken) }
}

impl<S: Source> Heap<S> {
    /// 0 when the heap is sound, else the code of the first broken invariant ([`Broken`]'s
    /// number). Changes nothing. O(blocks + lists and bins): a diagnostic, not for hot paths.
    pub fn check(self) -> u32 {
        match self.verify() {
            Ok(()) => 0,
            Err(broken) => broken as u32,
        }
    }

    /// [`Heap::check`] as a `Result`: `Err` names the first broken invariant. Changes nothing.
    /// O(blocks + lists and bins).
    pub fn verify(self) -> Result<(), Broken> {
        // SAFETY: `root` is not used after the loop below begins, whose calls take the root again.
        let root = unsafe { self.root() };
        let base = self.start + ROOT_SIZE;
        ensure(
            root.depth <= MAX_DEPTH
                && root.floor <= root.depth
                && root.segments[0] == base
                && root.top <= root.end
                && root.top % 8 == 0,
            Broken::Root,
        )?;
        let newest = root.depth;
        // A dropped segment's slot names segment 0 (`Root::segments`): never a stale record.
        let dropped = root.segments.get(newest as usize + 1..).unwrap_or(&[]);
        ensure(dropped.iter().all(|&control| control == 0 || control == base), Broken::Segment)?;
        let mut live_blocks = 0u64;
        for depth in 0..=newest {
            // The root afresh each time: `verify_segment` takes it too.
            // SAFETY: one statement's borrow.
            let control = unsafe { self.root() }.segments[slot(depth)];
            let end = self.segment_end(depth);
            let blocks = self.blocks_of(control);
            ensure(
                control % 8 == 0
                    && control + CONTROL_SIZE <= blocks
                    && blocks <= end
                    && self.mem.load(control) & !PREV_FREE == CONTROL_SIZE,
                Broken::Segment,
            )?;
            live_blocks += self.verify_segment(depth, blocks, end)?;
        }
        // SAFETY: the only borrow of the root until this function returns.
        let root = unsafe { self.root() };
        ensure(live_blocks <= root.allocations.wrapping_sub(root.frees) as u64, Broken::Counters)
    }

    /// Walks the blocks of one segment, then its lists and bins. Returns its live blocks.
    fn verify_segment(self, depth: u32, first: u32, end: u32) -> Result<u64, Broken> {
        // SAFETY: `depth` is at most the root's (`verify`'s loop); `segment` is the only borrow of
        // its record until this function returns (the calls below take it as `&Segment`).
        let (mem, segment) = (self.mem, unsafe { self.segment(depth) });
        let (mut block, mut prev_free) = (first, false);
        let mut live_blocks = 0u64;
        let (mut listed, mut binned) = (0u32, 0u32);
        while block < end {
            let header = mem.load(block);
            let size = header & SIZE_MASK;
            ensure(size >= MIN_BLOCK && size <= end - block, Broken::BlockSize)?;
            ensure((header & PREV_FREE != 0) == prev_free, Broken::PrevFree)?;
            if header & FREE != 0 {
                ensure(!prev_free, Broken::Unmerged)?;
                ensure(mem.load(block + size - 4) == size, Broken::Footer)?;
                if header & BINNED != 0 { binned += 1 } else { listed += 1 }
            } else {
                ensure(header & BINNED == 0, Broken::BlockSize)?;
                let tag = mem.load(block + 4);
                let request = block::tag_request(tag, block, segment.key, size);
                ensure(block::tag_depth(tag) == block::base_depth(segment.tag_base) && request.is_some(), Broken::Tag)?;
                live_blocks += 1;
            }
            prev_free = header & FREE != 0;
            block += size;
        }
        // The walk ends at `end` exactly: each size was at most `end - block`.
        // SAFETY: the root's borrow ends in the comparison.
        if depth == unsafe { self.root() }.depth {
            ensure(!prev_free, Broken::FreeBelowTop)?;
        } else {
            ensure((mem.load(end) & PREV_FREE != 0) == prev_free, Broken::PrevFree)?;
        }
        self.verify_lists(segment, first, end, listed)?;
        self.verify_bins(segment, first, end, binned)?;
        Ok(live_blocks)
    }

    /// Every listed block is free, not binned, of its list's class, inside the segment, linked
    /// both ways, and every such block of the walk is listed.
    fn verify_lists(self, segment: &Segment, first: u32, end: u32, free_blocks: u32) -> Result<(), Broken> {
        let mem = self.mem;
        ensure(segment.bitmaps_agree(), Broken::Bitmap)?;
        let mut listed = 0u32;
        for list_class in (0..FL_COUNT as u32).flat_map(|fl| (0..SL_COUNT as u32).map(move |sl| (fl, sl))) {
            let Some(head) = segment.listed_head(list_class.0, list_class.1) else { continue };
            ensure(head != 0, Broken::Bitmap)?;
            let (mut at, mut prev) = (head, 0);
            while at != 0 {
                listed += 1;
                ensure(listed <= free_blocks, Broken::Unlisted)?;
                ensure(at >= first && at < end && at % 8 == 0, Broken::List)?;
                let header = mem.load(at);
                let size = header & SIZE_MASK;
                ensure(header & (FREE | BINNED) == FREE && size > BIN_MAX && class(size) == list_class, Broken::List)?;
                ensure(prev == 0 || mem.load(at + 8) == prev, Broken::List)?;
                (prev, at) = (at, mem.load(at + 4));
            }
        }
        ensure(listed == free_blocks, Broken::Unlisted)
    }

    /// Every bin holds free binned blocks of its size, inside the segment, linked both ways, and
    /// together exactly the binned blocks of the walk.
    fn verify_bins(self, segment: &Segment, first: u32, end: u32, binned_blocks: u32) -> Result<(), Broken> {
        let mut binned = 0u32;
        for size in (MIN_BLOCK..=BIN_MAX).step_by(8) {
            let (mut at, mut prev) = (segment.bin_head(size), 0);
            while at != 0 {
                binned += 1;
                ensure(binned <= binned_blocks && at >= first && at < end && at % 8 == 0, Broken::Bin)?;
                let header = self.mem.load(at);
                ensure(header & (FREE | BINNED | SIZE_MASK) == size | FREE | BINNED, Broken::Bin)?;
                ensure(prev == 0 || self.mem.load(at + 8) == prev, Broken::Bin)?;
                (prev, at) = (at, self.mem.load(at + 4));
            }
        }
        ensure(binned == binned_blocks && segment.bin_map_agrees(), Broken::Bin)
    }
}
