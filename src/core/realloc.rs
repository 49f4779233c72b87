//! Reallocation: C's `realloc` on the heap, in place when it can (shrinking, a free successor,
//! the top), else moved to the newest segment. O(1), plus the bytes it copies when it moves.

use crate::core::block::{self, FREE, HEADER, MIN_BLOCK, PREV_FREE, SIZE_MASK};
use crate::core::heap::{Heap, Live, SHIFTED};
use crate::core::segment::Segment;
use crate::core::source::Source;
use crate::core::stats::Event;

impl<S: Source> Heap<S> {
    /// C's `realloc`: the live block at `payload` holding `request` bytes, its contents kept up to
    /// the smaller size. In place when it can (shrinking, a free successor, the top), else moved
    /// to the newest segment; 0 on failure, the old block untouched (counted in `failures`). A
    /// `payload` of 0 allocates; one that is not live returns 0 (counted in `rejected_frees`).
    /// O(1), plus the bytes it copies when it moves.
    pub fn reallocate(self, payload: u32, request: u32) -> u32 {
        self.reallocate_in::<false>(payload, request)
    }

    /// C's `realloc`: `reallocate` with the result 16-aligned and its block a multiple of 16
    /// bytes (see `allocate16`). A live block whose payload is only 8-aligned (from
    /// `allocate_aligned(n, 8)`) always moves. O(1), plus the bytes it copies when it moves.
    pub fn reallocate16(self, payload: u32, request: u32) -> u32 {
        self.reallocate_in::<true>(payload, request)
    }

    /// `reallocate` that keeps the payload aligned to `align`, a power of two (as
    /// `allocate_aligned` takes it): up to 8 and at 16 as `reallocate` and `reallocate16`; above,
    /// in place when the block is aligned and shrinks, else a new aligned block, the contents
    /// copied (up to the smaller size), the old one freed. A pointer that is not live is refused
    /// and counted as `reallocate` refuses it; 0 when no block can be had. O(1), plus the bytes
    /// it copies when it moves.
    pub fn reallocate_aligned(self, payload: u32, request: u32, align: u32) -> u32 {
        if align <= 8 {
            return self.reallocate(payload, request);
        }
        if align == 16 {
            return self.reallocate16(payload, request);
        }
        let Some(live) = self.live(payload) else {
            return self.reallocate(payload, request);
        };
        if payload.is_multiple_of(align) && request <= live.request {
            return self.reallocate(payload, request);
        }
        let new = self.allocate_aligned(request, align);
        if new != 0 {
            // SAFETY: `payload` is live with `live.request` bytes and `new` is a distinct block
            // of at least `request`, both inside the heap's memory.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    self.mem.ptr(payload),
                    self.mem.ptr(new),
                    live.request.min(request) as usize,
                )
            };
            self.deallocate(payload);
        }
        new
    }

    #[inline(always)]
    fn reallocate_in<const C16: bool>(self, payload: u32, request: u32) -> u32 {
        if payload == 0 {
            return if C16 { self.allocate16(request) } else { self.allocate(request) };
        }
        let Some(live) = self.live(payload) else {
            self.rejected();
            return 0;
        };
        let Some(mut size) = block::block_size(request) else { return self.failed() };
        if C16 && size != live.size {
            // C's block size, unless the block has exactly the 8-aligned size the request needs
            // (a heap that mixes both): then it stays as it is, in place.
            size = block::rounded16(size);
        }
        if (!C16 || payload % 16 == 0) && self.resize(live, size, request) {
            return payload;
        }
        // SAFETY: `newest` is the only borrow of the newest record in `block_to_move_to`, and is
        // not used after it (`resize` above took a segment too, and is done).
        let newest = unsafe { self.newest() };
        let block = self.block_to_move_to::<C16>(newest, size);
        if block == 0 {
            return self.failed();
        }
        let keep = live.request.min(request) as usize;
        // Safety: the old block is live and holds at least `keep` bytes; the new block was just
        // taken from free memory, so the two do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(self.mem.ptr(payload), self.mem.ptr(block + HEADER), keep) };
        // SAFETY: `live.segment` is a control block the root names; `newest` above is no longer
        // used, so `segment` (maybe the same record) is the only borrow of it during `release`.
        let segment = unsafe { self.segment_at(live.segment) };
        // Merged, not binned: a block that moved is likely to grow again, and its old place,
        // merged with its free neighbours, is room for that.
        self.release(segment, live.block, live.size);
        self.count(Event::Reallocation);
        // `newest` again: the old block's segment may be the same one, taken since.
        // SAFETY: `segment` is no longer used: this is the only borrow of the newest record.
        self.hand_out(unsafe { self.newest() }, block, self.mem.load(block) & SIZE_MASK, request)
    }

    /// Gives the live block a block of `size` bytes for `request` without moving it, if it can
    /// (see `resize_in_place`): retagged and recounted as a reallocation. False when it cannot.
    #[inline(always)]
    pub(crate) fn resize(self, live: Live, size: u32, request: u32) -> bool {
        // SAFETY: `live.segment` is a control block the root names; `segment` is the only borrow
        // of its record until this function returns (`resize_in_place` takes the root only).
        let segment = unsafe { self.segment_at(live.segment) };
        if !self.resize_in_place(segment, live, size) {
            return false;
        }
        // Same block, new request: retag (the segment keeps it) and recount the bytes.
        let size = self.mem.load(live.block) & SIZE_MASK;
        let tag = block::tag(live.block, segment.key, segment.tag_base, size, request);
        self.mem.store_at(live.block, 4, tag);
        self.count(Event::Reallocation);
        true
    }

    /// Makes the live block `size` bytes without moving it, if it can: shrinking always can;
    /// growing can into a free successor, or at the top.
    #[inline(never)]
    fn resize_in_place(self, segment: &mut Segment, live: Live, size: u32) -> bool {
        let Live { block, size: old, .. } = live;
        let flags = self.mem.load(block) & PREV_FREE;
        if size <= old {
            if old - size >= MIN_BLOCK {
                self.mem.store(block, size | flags);
                self.mem.store(block + size, old - size);
                self.release(segment, block + size, old - size);
            }
            return true;
        }
        let next = block + old;
        // SAFETY: each of the root's borrows here ends with its statement (`reserve` takes it).
        if next == unsafe { self.root() }.top {
            let Some(new_top) = block.checked_add(size).filter(|&t| self.reserve(t)) else { return false };
            // SAFETY: as above.
            unsafe { self.root() }.top = new_top;
            self.mem.store(block, size | flags);
            return true;
        }
        let next_header = self.mem.load(next);
        let next_size = next_header & SIZE_MASK;
        if next_header & FREE == 0 || old + next_size < size {
            return false;
        }
        segment.unlist(self.mem, next, next_header);
        self.split(segment, block, old + next_size, size);
        self.mem.store(block, self.mem.load(block) | flags);
        true
    }

    /// The block that `reallocate` moves a live block to: `new_block` (the lists or the top, not
    /// the bins), or for C's blocks a block with a gap in front where it is shifted. Outlined:
    /// `new_block` is `#[inline(always)]` for `allocate`'s sake, and this one copy keeps its body
    /// out of `reallocate`'s (the move is its less common path; the outlining came with the bins,
    /// 6ebe9ca, when inlining had grown the module).
    #[inline(never)]
    fn block_to_move_to<const C16: bool>(self, segment: &mut Segment, size: u32) -> u32 {
        let block = self.new_block::<C16>(segment, size).0;
        if C16 && block == SHIFTED {
            return self.take_aligned(segment, size, 16);
        }
        block
    }
}
