//! A segment: the free lists of one mark level.
//!
//! Each mark starts a new segment at the top of the heap. Its record sits in the payload of the
//! segment's first block (the *control block*), which is never freed and so also stops coalescing
//! across the boundary with the segment below:
//!
//! ```text
//!  segment d-1                     | segment d
//!  ... blocks ... [last block]     | [control block: header | Segment] [block] [block] ... top
//!                                  ^ root.segments[d]
//! ```
//!
//! Invariant: every free block of a segment is on exactly one list of that segment, the list of
//! `class(size)`; bit `fl` of `fl_bitmap` is set iff `sl_bitmap[fl] != 0`, and bit `sl` of
//! `sl_bitmap[fl]` iff `heads[fl][sl] != 0`.

use crate::block::{FREE, SIZE_MASK};
use crate::classes::{FL_COUNT, FL_ROWS, SL_COUNT, class, class_at_least};
use crate::mem::Mem;

#[repr(C)]
pub struct Segment {
    /// Identity for mark tokens; changes when the segment is emptied.
    pub id: u32,
    /// Mixed into every block tag of this segment; changes when the segment is emptied.
    pub epoch: u32,
    pub live_blocks: u32,
    pub live_bytes: u32,
    /// Bytes in this segment's free blocks, headers included.
    pub free_bytes: u32,
    fl_bitmap: u32,
    sl_bitmap: [u8; FL_ROWS],
    heads: [[u32; SL_COUNT]; FL_ROWS],
}

const _: () = assert!(SL_COUNT <= 8, "sl_bitmap entries are u8");

/// How many blocks of the request's own list `find` looks at before it takes a larger block.
pub const OWN_LIST_PROBES: u32 = 4;

#[inline(always)]
fn row(fl: u32) -> usize {
    fl as usize & (FL_ROWS - 1)
}

#[inline(always)]
fn col(sl: u32) -> usize {
    sl as usize & (SL_COUNT - 1)
}

impl Segment {
    /// An empty segment with identity `id`. The heads need no clearing: they are only read where
    /// the bitmaps say a list is non-empty.
    pub fn reset(&mut self, id: u32) {
        self.id = id;
        self.epoch = id;
        self.live_blocks = 0;
        self.live_bytes = 0;
        self.free_bytes = 0;
        self.fl_bitmap = 0;
        self.sl_bitmap = [0; FL_ROWS];
    }

    pub fn insert(&mut self, mem: Mem, block: u32, size: u32) {
        debug_assert!(mem.load(block) & SIZE_MASK == size && mem.load(block) & FREE != 0);
        let (fl, sl) = class(size);
        // A list whose bit is clear may have a stale head from before a reset: it is empty.
        let listed = self.sl_bitmap[row(fl)] >> sl & 1 != 0;
        let head = &mut self.heads[row(fl)][col(sl)];
        let next = if listed { *head } else { 0 };
        mem.store(block + 4, next);
        mem.store(block + 8, 0);
        if next != 0 {
            mem.store(next + 8, block);
        }
        *head = block;
        self.fl_bitmap |= 1 << fl;
        self.sl_bitmap[row(fl)] |= 1 << sl;
        self.free_bytes += size;
    }

    pub fn remove(&mut self, mem: Mem, block: u32, size: u32) {
        let (next, prev) = (mem.load(block + 4), mem.load(block + 8));
        if next != 0 {
            mem.store(next + 8, prev);
        }
        if prev != 0 {
            mem.store(prev + 4, next);
        } else {
            let (fl, sl) = class(size);
            debug_assert_eq!(self.heads[row(fl)][col(sl)], block);
            self.heads[row(fl)][col(sl)] = next;
            if next == 0 {
                self.sl_bitmap[row(fl)] &= !(1 << sl);
                if self.sl_bitmap[row(fl)] == 0 {
                    self.fl_bitmap &= !(1 << fl);
                }
            }
        }
        self.free_bytes -= size;
    }

    /// A free block of at least `size` bytes, in O(1), or 0. First fit among the first
    /// [`OWN_LIST_PROBES`] blocks of the list `size` falls in (the closest sizes: taking one of them
    /// leaves the least behind); failing that, the head of the smallest list whose blocks all fit
    /// (good fit).
    pub fn find(&self, mem: Mem, size: u32) -> u32 {
        if self.fl_bitmap == 0 {
            return 0; // the common case while a heap only grows
        }
        let (fl, sl) = class(size);
        let mut block = self.listed_head(fl, sl).unwrap_or(0);
        for _ in 0..OWN_LIST_PROBES {
            if block == 0 {
                break;
            }
            if mem.load(block) & SIZE_MASK >= size {
                return block;
            }
            block = mem.load(block + 4);
        }
        let Some((fl, sl)) = class_at_least(size) else { return 0 };
        let (mut fl, mut map) = (fl, self.sl_bitmap[row(fl)] as u32 & (!0 << sl));
        if map == 0 {
            let above = self.fl_bitmap & (!0u32).checked_shl(fl + 1).unwrap_or(0);
            fl = above.trailing_zeros();
            map = if above != 0 { self.sl_bitmap[row(fl)] as u32 } else { 0 };
        }
        if map == 0 {
            return 0;
        }
        self.heads[row(fl)][col(map.trailing_zeros())]
    }

    /// The largest free block of this segment: the biggest block of its highest non-empty list.
    /// Costs the length of that one list.
    pub fn largest_free(&self, mem: Mem) -> u32 {
        if self.fl_bitmap == 0 {
            return 0;
        }
        let fl = 31 - self.fl_bitmap.leading_zeros();
        let sl = 31 - (self.sl_bitmap[row(fl)] as u32).leading_zeros();
        let (mut block, mut largest) = (self.heads[row(fl)][col(sl)], 0);
        while block != 0 {
            largest = largest.max(mem.load(block) & SIZE_MASK);
            block = mem.load(block + 4);
        }
        largest
    }

    /// The head of list (fl, sl) if the bitmaps call it non-empty, for the heap check.
    pub fn listed_head(&self, fl: u32, sl: u32) -> Option<u32> {
        (self.sl_bitmap[row(fl)] >> sl & 1 != 0).then(|| self.heads[row(fl)][col(sl)])
    }

    /// Whether the bitmaps agree with each other (the heads are checked by walking the lists).
    pub fn bitmaps_agree(&self) -> bool {
        (0..FL_COUNT as u32).all(|fl| (self.fl_bitmap >> fl & 1 != 0) == (self.sl_bitmap[row(fl)] != 0))
            && self.fl_bitmap >> FL_COUNT == 0
    }
}
