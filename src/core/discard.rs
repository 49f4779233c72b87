//! Discardable pages: the page-aligned ranges of memory that the heap promises not to read or
//! write until it takes them again, so that a host may give their pages back to the system
//! (`madvise(MADV_DONTNEED)` on wasmtime's mmap, one day `memory.discard`). A walk of the blocks,
//! O(blocks) per call, in a file of its own: no allocation or free pays for it.
//!
//! What the heap keeps of a free block `[b, b + size)` is its first [`FREE_HEAD`] bytes (the size
//! word and the two list links, `block.rs`) and its last [`FREE_TAIL`] (the footer); of the space
//! above the top, nothing. So the listed ranges are the whole pages inside `[b + 12, b + size - 4)`
//! of every free block, binned or listed, in every segment, and inside `[top, end)`. Headers of
//! used blocks, control blocks (segment records, marks), the root and the padding before the
//! first block are never in a free block's interior nor above the top.
//!
//! The promise, from one call to the next: until the heap takes a listed byte again, it neither
//! reads nor writes it. It takes bytes again by handing out a block (`allocate*`, a `reallocate`
//! that moves or grows in place, a mark's control block) and, around such a block, by writing the
//! words of the free blocks that the hand-out splits off: the 12 bytes right after the block (the
//! rest's size word and links), and when an alignment gap is cut in front of it, the gap's first
//! 12 bytes and its last 4. A listed page may therefore read back as zero, or as anything (the
//! module's initial image), and the heap stays sound; no zeroing relies on it either: `calloc` and
//! `alloc_zeroed` clear every byte below the end of memory before the call (only pages that
//! `memory.grow` adds during the call are taken as zero), and the core assumes nothing of the
//! memory above its top.
//!
//! One thing does read a listed byte: validating a pointer the caller passes reads the 8 bytes in
//! front of it, wherever they are. A stale pointer into a listed page reads what the page holds
//! (zero after a discard) and is rejected as any foreign pointer is (CONTRACT.md, "Bad pointers").
//! The debug flavor lists nothing: its poison fills every free byte and is checked on reuse
//! (`debug/mod.rs`).

use crate::core::block::{FREE, MIN_BLOCK, SIZE_MASK};
use crate::core::heap::{Heap, slot};
use crate::core::source::Source;

/// Bytes at the start of a free block that the heap keeps: the size word and the two list links.
pub const FREE_HEAD: u32 = 12;
/// Bytes at the end of a free block that the heap keeps: the footer.
pub const FREE_TAIL: u32 = 4;

/// A range of memory the heap will not touch until it takes it again: `len` bytes from `start`,
/// both multiples of the page size asked for. The raw ABI writes it as two `u32`, in this order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// The first byte, a multiple of the page size.
    pub start: u32,
    /// The bytes: a multiple of the page size, never 0.
    pub len: u32,
}

impl Range {
    /// One past the range's last byte (resume a listing from here).
    pub fn end(self) -> u32 {
        self.start + self.len
    }
}

impl<S: Source> Heap<S> {
    /// Lists into `out`, in address order, the ranges of whole `page`-byte pages (aligned to
    /// `page`) that lie at or above `from` inside free blocks and above the top, which the heap
    /// promises not to read or write until it takes them again (the module doc says exactly
    /// what that means). Returns how many it wrote; when that is `out.len()` there may be more:
    /// call again with `from` = the last range's [`end`](Range::end). `None` when `page` is not a
    /// power of two (nothing written). A heap not set up yet lists nothing.
    ///
    /// Cost: O(blocks of the segments that end above `from`); nothing is written to the heap.
    pub fn discardable(self, from: u32, page: u32, out: &mut [Range]) -> Option<usize> {
        let mut written = 0;
        let listed = self.each_discardable(from, page, |range| {
            let Some(slot) = out.get_mut(written) else { return false };
            *slot = range;
            written += 1;
            true
        });
        listed.then_some(written)
    }

    /// `discardable` for the raw ABI: at most `max` ranges written at `out` as pairs of `u32`
    /// (unaligned), through the heap's memory. Returns how many, or `u32::MAX` when `page` is not
    /// a power of two.
    #[cfg_attr(
        not(all(target_arch = "wasm32", any(feature = "module", feature = "import-memory"), not(feature = "debug"))),
        allow(dead_code)
    )]
    pub(crate) fn write_discardable(self, from: u32, page: u32, out: u32, max: u32) -> u32 {
        let mut written = 0u32;
        let listed = self.each_discardable(from, page, |range| {
            if written == max {
                return false;
            }
            // Safety: the ABI makes `out..out + 8 * max` memory the caller owns (CONTRACT.md);
            // in wasm a write past the end of memory traps rather than corrupting anything.
            unsafe { core::ptr::write_unaligned(self.mem.ptr(out.wrapping_add(8 * written)) as *mut Range, range) };
            written += 1;
            true
        });
        if listed { written } else { u32::MAX }
    }

    /// Calls `emit` with each discardable range at or above `from`, in address order, until it
    /// returns false. False when `page` is not a power of two. A block whose size cannot be right
    /// (a heap that `check()` finds broken) ends the listing there: listing less is always safe.
    pub(crate) fn each_discardable(self, from: u32, page: u32, mut emit: impl FnMut(Range) -> bool) -> bool {
        if !page.is_power_of_two() {
            return false;
        }
        if !self.is_initialized() {
            return true;
        }
        // The whole pages of `[lo, hi)` at or above `from`; false once `emit` wants no more.
        let mut pages = |lo: u32, hi: u32| {
            let mask = page as u64 - 1;
            let start = (lo.max(from) as u64 + mask) & !mask;
            let end = hi as u64 & !mask;
            start >= end || emit(Range { start: start as u32, len: (end - start) as u32 })
        };
        // SAFETY: each borrow of the root in this walk is a read that ends in its expression, before
        // `segment_end` or `blocks_of` take it again.
        let depth = unsafe { self.root() }.depth;
        for d in 0..=depth {
            let end = self.segment_end(d);
            if end <= from {
                continue;
            }
            // SAFETY: as above.
            let mut block = self.blocks_of(unsafe { self.root() }.segments[slot(d)]);
            while block < end {
                let header = self.mem.load(block);
                let size = header & SIZE_MASK;
                if size < MIN_BLOCK || size > end - block {
                    return true;
                }
                if header & FREE != 0 && !pages(block + FREE_HEAD, block + size - FREE_TAIL) {
                    return true;
                }
                block += size;
            }
        }
        // SAFETY: as above.
        let (top, end) = unsafe { (self.root().top, self.root().end) };
        pages(top, end);
        true
    }
}
