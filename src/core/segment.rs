//! A segment: the free lists and bins of one mark level.
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
//! Every free block of a segment is on one of two kinds of list:
//!
//! - a **class list** (two-level segregated fit): free blocks of any size, each on the list of
//!   `class(size)`, found by good fit;
//! - a **bin**: small free blocks (up to [`BIN_MAX`] bytes), one LIFO list per exact size, so that
//!   a request takes one from the smallest non-empty bin that fits (a bitmap finds it) in a few
//!   instructions. A block is binned only when both its
//!   neighbours are used, and its header says `BINNED`; when a neighbour is freed later it merges
//!   with the binned block as with any free block (taking it off its bin), so the heap stays fully
//!   coalesced. Bins have no cap: a small free block between used neighbours serves the same
//!   requests from a bin as from a class list (a request above [`BIN_MAX`] fits neither), so
//!   binning holds back no memory that listing would give; it only makes taking it cheaper.
//!
//! Both kinds are doubly linked through the first two words after the header (next, prev), but a
//! list's head keeps no prev word (its list's head names it): one set of link helpers serves both.
//!
//! Invariants (checked by `check()`):
//! 1. Every free block of a segment is on exactly one list of that segment: its bin if its header
//!    says `BINNED` (then its size is at most `BIN_MAX`), else the class list of `class(size)`.
//! 2. Bit `fl` of `fl_bitmap` is set iff `sl_bitmap[fl] != 0`, and bit `sl` of `sl_bitmap[fl]` iff
//!    `heads[fl][sl] != 0` (the head of a list whose bit is clear is not read: it may be stale).
//! 3. Bit `i` of `bin_map` is set iff `bins[i] != 0`.

use crate::core::block::{BINNED, FREE, SIZE_MASK};
use crate::core::classes::{FL_COUNT, FL_ROWS, SL_COUNT, class, class_at_least, same_class};
use crate::core::mem::Mem;

/// Largest block size kept in bins.
pub const BIN_MAX: u32 = 504;
/// Bins, indexed by block size / 8 (16..=504 bytes: indices 2..=63).
pub const BIN_COUNT: usize = (BIN_MAX / 8 + 1) as usize;
const _: () = assert!(BIN_COUNT.is_power_of_two(), "bin indices are masked, not bounds-checked");
const _: () = assert!(BIN_MAX + 8 >= crate::core::classes::MIN_LISTED, "every listed block has a class");

#[repr(C)]
pub struct Segment {
    /// Identity for mark tokens; changes when the segment is emptied.
    pub id: u32,
    /// The key of this segment's epoch (`block::epoch_key`), mixed into every block tag of the
    /// segment; changes when the segment is emptied or dropped.
    pub key: u32,
    /// This segment's depth, as its blocks' tags take it (`block::tag_base`).
    pub tag_base: u32,
    fl_bitmap: u32,
    /// Bit `i` is set iff the bin of `8 * i`-byte blocks is not empty.
    bin_map: u64,
    sl_bitmap: [u8; FL_ROWS],
    bins: [u32; BIN_COUNT],
    heads: [[u32; SL_COUNT]; FL_ROWS],
}

const _: () = assert!(SL_COUNT <= 8, "sl_bitmap entries are u8");

/// How many blocks of the request's own list `take` looks at before it takes a larger block.
pub const OWN_LIST_PROBES: u32 = 6;

#[inline(always)]
fn row(fl: u32) -> usize {
    fl as usize & (FL_ROWS - 1)
}

#[inline(always)]
fn col(sl: u32) -> usize {
    sl as usize & (SL_COUNT - 1)
}

#[inline(always)]
fn bin(size: u32) -> usize {
    (size >> 3) as usize & (BIN_COUNT - 1)
}

// Both kinds of list are doubly linked through the two words after a free block's header (next,
// prev), except that a head's prev word is not kept: whether a block is its list's head, the
// list's head says. That spares a store on every push and every pop.

/// Links `block` in front of `next` (0: the list was empty); the caller makes it the head.
#[inline(always)]
fn link_first(mem: Mem, block: u32, next: u32) {
    mem.store_at(block, 4, next);
    if next != 0 {
        mem.store_at(next, 8, block);
    }
}

/// The block after the head `block`: the new head once the caller takes `block` off.
#[inline(always)]
fn after(mem: Mem, block: u32) -> u32 {
    mem.load_at(block, 4)
}

/// Takes `block`, which is not its list's head, out of its list's links.
#[inline(always)]
fn unlink_inner(mem: Mem, block: u32) {
    let (next, prev) = (mem.load_at(block, 4), mem.load_at(block, 8));
    if next != 0 {
        mem.store_at(next, 8, prev);
    }
    mem.store_at(prev, 4, next);
}

impl Segment {
    /// An empty segment with identity `id`. The heads need no clearing (a kilobyte, which would
    /// cost each mark call as much as the rest of it): they are only read where the bitmaps say
    /// a list is non-empty.
    pub fn reset(&mut self, id: u32, depth: u32) {
        self.id = id;
        self.key = crate::core::block::epoch_key(id);
        self.tag_base = crate::core::block::tag_base(depth);
        self.forget_free();
    }

    /// Empties the lists and bins (the segment's blocks are gone: it has none live).
    pub fn forget_free(&mut self) {
        self.fl_bitmap = 0;
        self.bin_map = 0;
        self.sl_bitmap = [0; FL_ROWS];
        self.bins = [0; BIN_COUNT];
    }

    // ---- bins ----

    /// Whether any bin holds a block (none do while a heap only grows, or frees in stack order).
    #[inline(always)]
    pub fn has_binned(&self) -> bool {
        self.bin_map != 0
    }

    /// Takes a block of exactly `size` bytes (≤ [`BIN_MAX`]) off its bin, or 0. Its header still
    /// says free.
    #[inline(always)]
    pub fn unbin_exact(&mut self, mem: Mem, size: u32) -> u32 {
        debug_assert!(size <= BIN_MAX);
        self.unbin_first(mem, size >> 3)
    }

    /// Takes a block off the smallest non-empty bin of blocks larger than `size` bytes, or 0.
    #[inline(always)]
    pub fn unbin_larger(&mut self, mem: Mem, size: u32) -> u32 {
        let map = self.bin_map & (!1u64 << (size >> 3));
        if map == 0 {
            return 0;
        }
        self.unbin_first(mem, map.trailing_zeros())
    }

    /// Takes the first block off bin `index`, or 0.
    #[inline(always)]
    fn unbin_first(&mut self, mem: Mem, index: u32) -> u32 {
        let block = self.bins[index as usize & (BIN_COUNT - 1)];
        if block != 0 {
            self.pop_bin(index, after(mem, block));
        }
        block
    }

    /// The head of bin `index` is leaving it; `next` takes its place.
    #[inline(always)]
    fn pop_bin(&mut self, index: u32, next: u32) {
        self.bins[index as usize & (BIN_COUNT - 1)] = next;
        if next == 0 {
            self.bin_map &= !(1u64 << index);
        }
    }

    /// Puts the free block (header `size | FREE | BINNED` and footer written) on the bin of its size.
    #[inline(always)]
    pub fn bin(&mut self, mem: Mem, block: u32, size: u32) {
        debug_assert!(size <= BIN_MAX && mem.load(block) & (FREE | BINNED | SIZE_MASK) == size | FREE | BINNED);
        let next = core::mem::replace(&mut self.bins[bin(size)], block);
        link_first(mem, block, next);
        if next == 0 {
            self.bin_map |= 1u64 << (size >> 3);
        }
    }

    /// Takes a free block off its list, whichever kind `header` (its header word) says it is on.
    pub fn unlist(&mut self, mem: Mem, block: u32, header: u32) {
        let size = header & SIZE_MASK;
        if header & BINNED != 0 {
            if self.bins[bin(size)] == block {
                self.pop_bin(size >> 3, after(mem, block));
            } else {
                unlink_inner(mem, block);
            }
        } else {
            let (fl, sl) = class(size);
            if self.heads[row(fl)][col(sl)] == block {
                self.pop_head(fl, sl, after(mem, block));
            } else {
                unlink_inner(mem, block);
            }
        }
    }

    /// The first block of the bin for blocks of `size` bytes, for the heap check.
    pub fn bin_head(&self, size: u32) -> u32 {
        self.bins[bin(size)]
    }

    // ---- lists ----

    /// Lists the free block (header and footer written) on the class list of its size.
    pub fn insert(&mut self, mem: Mem, block: u32, size: u32) {
        debug_assert!(mem.load(block) & (FREE | BINNED | SIZE_MASK) == size | FREE);
        let (fl, sl) = class(size);
        // A list whose bit is clear may have a stale head from before a reset: it is empty.
        let listed = self.sl_bitmap[row(fl)];
        let head = core::mem::replace(&mut self.heads[row(fl)][col(sl)], block);
        if listed >> sl & 1 != 0 {
            link_first(mem, block, head);
        } else {
            link_first(mem, block, 0);
            self.fl_bitmap |= 1 << fl;
            self.sl_bitmap[row(fl)] = listed | 1 << sl;
        }
    }

    /// The class-listed free block at `block`, with this header, has grown to `size` bytes by a
    /// merge: if its class is the same, it becomes its list's head (where `insert` would put it,
    /// so the lists end as an `unlist` and an `insert` would leave them) and this returns true;
    /// otherwise (or when it is binned) nothing changes and this returns false.
    #[inline(always)]
    pub fn grew_in_place(&mut self, mem: Mem, block: u32, header: u32, size: u32) -> bool {
        let old = header & SIZE_MASK;
        if header & BINNED != 0 || !same_class(old, size) {
            return false;
        }
        let (fl, sl) = class(old);
        let head = self.heads[row(fl)][col(sl)];
        if head != block {
            unlink_inner(mem, block);
            link_first(mem, block, head);
            self.heads[row(fl)][col(sl)] = block;
        }
        true
    }

    /// The head of list (fl, sl) is leaving it; `next` takes its place.
    #[inline(always)]
    fn pop_head(&mut self, fl: u32, sl: u32, next: u32) {
        self.heads[row(fl)][col(sl)] = next;
        if next == 0 {
            self.sl_bitmap[row(fl)] &= !(1 << sl);
            if self.sl_bitmap[row(fl)] == 0 {
                self.fl_bitmap &= !(1 << fl);
            }
        }
    }

    /// Takes a class-listed free block of at least `size` bytes off its list, in O(1), or returns
    /// 0. First fit among the first [`OWN_LIST_PROBES`] blocks of the list `size` falls in (the
    /// closest sizes: taking one of them leaves the least behind); failing that, the head of the
    /// smallest list whose blocks all fit (good fit). Its header still says free.
    #[inline(always)]
    pub fn take(&mut self, mem: Mem, size: u32) -> u32 {
        if self.fl_bitmap == 0 {
            return 0; // the common case while a heap only grows
        }
        self.take_listed(mem, size)
    }

    /// Whether any class list holds a block.
    #[inline(always)]
    pub fn has_listed(&self) -> bool {
        self.fl_bitmap != 0
    }

    /// The smallest non-empty class list (there is one). A request of at most [`BIN_MAX`] bytes
    /// fits every listed block (lists hold larger blocks only), so its head is the block that
    /// the good-fit search would find, without the search.
    #[inline(always)]
    fn smallest_list(&self) -> (u32, u32) {
        let fl = self.fl_bitmap.trailing_zeros();
        (fl, (self.sl_bitmap[row(fl)] as u32).trailing_zeros())
    }

    /// The head of the smallest non-empty class list (there is one): what `cut_smallest` takes.
    #[inline(always)]
    pub fn smallest_head(&self) -> u32 {
        let (fl, sl) = self.smallest_list();
        self.heads[row(fl)][col(sl)]
    }

    /// The head of the smallest non-empty class list, taken off it.
    #[inline(always)]
    fn take_smallest(&mut self, mem: Mem) -> u32 {
        let (fl, sl) = self.smallest_list();
        let block = self.take_head(mem, fl, sl);
        debug_assert!(mem.load(block) & SIZE_MASK > BIN_MAX, "a small block on a class list");
        block
    }

    /// For a request of `size` ≤ [`BIN_MAX`] bytes, when a class list holds a block: the head of
    /// the smallest non-empty list (as `take` finds it), and the size it now has. When the rest
    /// after `size` bytes stays in the head's class, the block is cut where it lies: its first
    /// `size` bytes are returned as a used block (header written, no flags), and the rest takes
    /// its place as the list's head — where taking it off and splitting would have put the rest,
    /// so the lists end the same, without the list updates and the class computation. Otherwise
    /// the head is taken off whole, its header still free, and its whole size returned (more
    /// than `size`: the caller splits it).
    #[inline(always)]
    pub fn cut_smallest(&mut self, mem: Mem, size: u32) -> (u32, u32) {
        debug_assert!(size <= BIN_MAX && self.has_listed());
        let (fl, sl) = self.smallest_list();
        let block = self.heads[row(fl)][col(sl)];
        let total = mem.load(block) & SIZE_MASK;
        debug_assert!(total > BIN_MAX, "a small block on a class list");
        let rest = total - size;
        if same_class(rest, total) {
            let moved = block + size;
            mem.store(moved, rest | FREE);
            mem.store(block + total - 4, rest);
            link_first(mem, moved, after(mem, block));
            self.heads[row(fl)][col(sl)] = moved;
            mem.store(block, size);
            return (block, size);
        }
        (self.take_head(mem, fl, sl), total)
    }

    /// Takes the head of the non-empty list (fl, sl) off it.
    #[inline(always)]
    fn take_head(&mut self, mem: Mem, fl: u32, sl: u32) -> u32 {
        let block = self.heads[row(fl)][col(sl)];
        self.pop_head(fl, sl, after(mem, block));
        block
    }

    #[inline(never)]
    fn take_listed(&mut self, mem: Mem, size: u32) -> u32 {
        if size <= BIN_MAX {
            return self.take_smallest(mem);
        }
        let (fl, sl) = class(size);
        if self.sl_bitmap[row(fl)] >> sl & 1 != 0 {
            let head = self.heads[row(fl)][col(sl)];
            let mut block = head;
            for _ in 0..OWN_LIST_PROBES {
                let block_size = mem.load(block) & SIZE_MASK;
                if block_size >= size {
                    if block == head {
                        self.pop_head(fl, sl, after(mem, block));
                    } else {
                        unlink_inner(mem, block);
                    }
                    return block;
                }
                block = mem.load_at(block, 4);
                if block == 0 {
                    break;
                }
            }
        }
        let Some((fl, sl)) = class_at_least(size) else { return 0 };
        let (mut fl, mut map) = (fl, self.sl_bitmap[row(fl)] as u32 & (!0 << sl));
        if map == 0 {
            let above = self.fl_bitmap & (!0u32).checked_shl(fl + 1).unwrap_or(0);
            if above == 0 {
                return 0;
            }
            fl = above.trailing_zeros();
            map = self.sl_bitmap[row(fl)] as u32;
        }
        let sl = map.trailing_zeros();
        self.take_head(mem, fl, sl)
    }

    /// The head of list (fl, sl) if the bitmaps call it non-empty, for the heap check.
    pub fn listed_head(&self, fl: u32, sl: u32) -> Option<u32> {
        (self.sl_bitmap[row(fl)] >> sl & 1 != 0).then(|| self.heads[row(fl)][col(sl)])
    }

    /// Whether the bin map agrees with the bins.
    pub fn bin_map_agrees(&self) -> bool {
        (0..BIN_COUNT).all(|i| (self.bin_map >> i & 1 != 0) == (self.bins[i] != 0))
    }

    /// Whether the bitmaps agree with each other (the heads are checked by walking the lists).
    pub fn bitmaps_agree(&self) -> bool {
        (0..FL_COUNT as u32).all(|fl| (self.fl_bitmap >> fl & 1 != 0) == (self.sl_bitmap[row(fl)] != 0))
            && self.fl_bitmap >> FL_COUNT == 0
    }
}
