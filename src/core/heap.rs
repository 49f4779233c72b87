//! The heap: its records and allocate, each call O(1) in the worst case; deallocate is in `free.rs`
//! and reallocate in `realloc.rs` (further `impl Heap` blocks), the counters in `stats.rs`.
//!
//! ```text
//!  start                  base  first                                          top          end
//!  | Root | control 0 |...| pad | blocks of segment 0 ... | control 1 | blocks ... | untouched |
//!         ^ segments[0]                                   ^ segments[1] (newest)
//! ```
//!
//! The records (the root and segment 0's control block) and the blocks are two places
//! (`Source::blocks_base`): in a region of the host's (import-memory, the static pool, native
//! tests) the blocks follow the records; a wasm program's heap (`wasm.rs`) keeps its records in a
//! static of the program, which the linker places inside the initial memory, and its blocks at
//! `__heap_base`.
//! `first`, segment 0's first block, is 8 mod 16 (`base`, or `base + 8` when `base` is 16-aligned):
//! its payload is 16-aligned, so that blocks of multiples of 16 bytes (C's, `block_size16`) follow
//! one another with every payload 16-aligned and no gap. Control blocks are multiples of 16 too.
//!
//! Invariants (checked by [`Heap::check`]):
//! 1. Blocks tile each segment from its control block to the next segment's control block (or to
//!    `top` for the newest), and no two free blocks are adjacent (free coalesces at once).
//! 2. The block just below `top` is never free: freeing it lowers `top` instead.
//! 3. Allocation is served only from the newest segment: a small request from its bins first,
//!    then from its class lists (`Segment::cut_smallest`, `Segment::take`), then by carving at
//!    `top`, growing memory when needed (`take_block`).

use crate::core::block::{self, BINNED, FREE, HEADER, MIN_BLOCK, PREV_FREE, SIZE_MASK};
use crate::core::mem::Mem;
use crate::core::segment::{BIN_MAX, Segment};
use crate::core::source::{MAX_END, Source};
use crate::core::stats::Event;

/// Deepest mark nesting: segment depths must fit the tag's depth field.
pub const MAX_DEPTH: u32 = (1 << block::DEPTH_BITS) - 1;
/// A multiple of 16, as `CONTROL_SIZE` is (see `RECORDS_SIZE`).
pub const ROOT_SIZE: u32 = (size_of::<Root>() as u32 + 15) & !15;
/// A multiple of 16, so that a mark keeps the top's alignment for C's blocks (see the module doc).
pub const CONTROL_SIZE: u32 = (HEADER + size_of::<Segment>() as u32 + 15) & !15;
/// The records: the root and segment 0's control block. A multiple of 16: in a module's statics
/// (`wasm.rs`) they end where `__heap_base` is, and there the blocks begin.
pub const RECORDS_SIZE: u32 = ROOT_SIZE + CONTROL_SIZE;
const _: () = assert!(RECORDS_SIZE % 16 == 0);
/// Largest alignment `allocate_aligned` accepts.
pub const MAX_ALIGN: u32 = 65536;
const _: () = assert!(
    block::MAX_REQUEST as u64 + HEADER as u64 + 7 + MAX_ALIGN as u64 + MIN_BLOCK as u64 <= u32::MAX as u64,
    "the search size of an aligned request must not wrap"
);

/// The heap's state, at the start of the region it manages.
#[repr(C)]
pub struct Root {
    /// End of the newest segment's last block; 0 before the heap is initialised.
    pub top: u32,
    /// End of the memory the heap manages.
    pub end: u32,
    /// Depth of the newest segment (0: no marks).
    pub depth: u32,
    /// Where the newest segment's record is, counted from segment 0's: 0 in a heap not set up
    /// yet, whose segment 0 then reads as an empty segment (all zero), so that an allocation
    /// finds nothing and takes the cold path that sets the heap up.
    pub newest: u32,
    /// Depth of the floor segment that `free_all` empties.
    pub floor: u32,
    /// Source of segment ids and epochs.
    pub clock: u32,
    /// The event counts of `stats()`, each added to by `Heap::count` (`stats::Event`). What is
    /// live and free is not counted by the calls: `stats()` walks the blocks for it.
    pub allocations: u32,
    pub frees: u32,
    /// The highest the top has been before it last came down (`stats()` takes the larger of
    /// this and the top): kept where the top comes down, not where it rises, so that carving
    /// costs nothing for it.
    pub peak_top: u32,
    pub reallocations: u32,
    pub failures: u32,
    pub rejected_frees: u32,
    pub rejected_marks: u32,
    pub memory_grows: u32,
    /// Offset of each segment's control block, by depth. Above `depth`, a slot that was in use
    /// names segment 0's (`pop_to` writes it there; segment 0 is never dropped), so that the tag
    /// of a block of a dropped segment is checked against an epoch in force, never its own:
    /// `live` needs no test of the depth.
    pub segments: [u32; MAX_DEPTH as usize + 1],
}

/// A live block found from a pointer handed out earlier.
#[derive(Clone, Copy)]
pub(crate) struct Live {
    pub block: u32,
    /// Its header word: the size and `PREV_FREE`.
    pub header: u32,
    pub size: u32,
    pub request: u32,
    /// Offset of its segment's control block.
    pub segment: u32,
}

/// A handle on a heap in memory. It holds no state of its own (a wasm module makes one per call)
/// and is passed by value, so that it costs registers, not a stack frame.
#[derive(Clone, Copy)]
pub struct Heap<S: Source> {
    pub(crate) mem: Mem,
    /// Where the records are: the root, then segment 0's control block. (Where the blocks begin
    /// is the source's to say, `Source::blocks_base`: so that a `Heap` stays two words, passed
    /// in registers.)
    pub(crate) start: u32,
    pub(crate) source: S,
}

impl<S: Source> Heap<S> {
    /// A heap with its records at `start` and its blocks from `source.blocks_base(start)` (by
    /// default right after the records) to the end of the region. O(1): nothing is read or
    /// written until the first call.
    ///
    /// # Safety
    /// `mem` must cover the records and `base..end` of a region that only this heap uses, and stay
    /// valid for as long as the heap is used; `start` must be 8-aligned and non-zero. The records
    /// may lie past the end of memory only where they are part of the region (the default): the
    /// set-up grows memory first. Records whose bytes are zero are a new heap: it is initialised
    /// on first use.
    pub unsafe fn new(mem: Mem, start: u32, source: S) -> Heap<S> {
        debug_assert!(start % 8 == 0 && start != 0 && start + RECORDS_SIZE <= source.blocks_base(start));
        Heap { mem, start, source }
    }

    /// Where the blocks' region begins (segment 0's first block is at `first()`).
    #[inline(always)]
    pub(crate) fn base(self) -> u32 {
        self.source.blocks_base(self.start)
    }

    /// The root, as a fresh `&mut`. O(1).
    ///
    /// # Safety
    /// The borrow must stand alone: no other reference to the root may be used while this one is,
    /// and this one must not be used after a call that takes the root again (`root`, or any
    /// method of `Heap` that reads or writes the root: most of them). The unit tests run under
    /// Miri's Stacked Borrows (scripts/miri) to keep the callers to it.
    pub(crate) unsafe fn root(self) -> &'static mut Root {
        // Safety: `new`'s contract: the region from `start` is the heap's, the root at its start,
        // 8-aligned; only this single-threaded heap touches it; the caller keeps the borrow alone.
        unsafe { &mut *(self.mem.ptr(self.start) as *mut Root) }
    }

    /// The record of the segment at `depth` (at most the root's `depth`), as a fresh `&mut`. O(1).
    ///
    /// # Safety
    /// As for [`Heap::segment_at`].
    pub(crate) unsafe fn segment(self, depth: u32) -> &'static mut Segment {
        // SAFETY: the root's borrow ends in this expression; the segment's is the caller's.
        unsafe { self.segment_at(self.root().segments[slot(depth)]) }
    }

    /// The segment whose control block is at `control`, as a fresh `&mut`. O(1).
    ///
    /// # Safety
    /// `control` must be a control block that the root names. The borrow must stand
    /// alone: no other reference to the same record may be used while this one is (a segment's
    /// record and the root are apart, so a root borrow may be held beside it), and this one must
    /// not be used after a call that takes the same record again (`segment`, `segment_at`,
    /// `newest`, or a method of `Heap` that does).
    #[inline(always)]
    pub(crate) unsafe fn segment_at(self, control: u32) -> &'static mut Segment {
        // Safety: `control` is a control block the root names, its record right after the header
        // (or, after a hash collision in `live` only, memory of the heap's region, which the heap
        // owns anyway); 8-aligned. The pointer is offset, not the number, so that the record's
        // field offsets fold into the loads.
        unsafe { &mut *(self.mem.ptr(control).add(HEADER as usize) as *mut Segment) }
    }

    /// The newest segment: the one allocations come from, as a fresh `&mut`. O(1).
    ///
    /// # Safety
    /// As for [`Heap::segment_at`].
    #[inline(always)]
    pub(crate) unsafe fn newest(self) -> &'static mut Segment {
        // Safety: as for `segment_at`: `newest` is the distance from segment 0's record to the
        // newest one's; the root's borrow ends in this expression.
        unsafe { &mut *(self.mem.ptr(self.first_record()).add(self.root().newest as usize) as *mut Segment) }
    }

    /// Where segment 0's record is: in its control block, right after the root.
    #[inline(always)]
    pub(crate) fn first_record(self) -> u32 {
        self.start + ROOT_SIZE + HEADER
    }

    /// Segment 0's first block: 8 mod 16, so that its payload is 16-aligned.
    #[inline(always)]
    pub(crate) fn first(self) -> u32 {
        self.base() | 8
    }

    /// The lowest pointer a block can have: the payload of segment 0's first block.
    #[inline(always)]
    pub(crate) fn first_payload(self) -> u32 {
        self.first() + HEADER
    }

    /// Where the blocks of the segment at `depth` (at most the newest's) end: at the next
    /// segment's control block, or for the newest, at the top.
    #[inline]
    pub(crate) fn segment_end(self, depth: u32) -> u32 {
        // SAFETY: the root's borrow ends in this function, which calls nothing.
        let root = unsafe { self.root() };
        if depth == root.depth { root.top } else { root.segments[slot(depth + 1)] }
    }

    /// Where the blocks of the segment whose control block is at `control` begin: right after it,
    /// or for segment 0, at `first`.
    #[inline]
    pub(crate) fn blocks_of(self, control: u32) -> u32 {
        // SAFETY: the root's borrow ends in the comparison.
        if control == unsafe { self.root() }.segments[0] { self.first() } else { control + CONTROL_SIZE }
    }

    /// Whether the region holds a heap already (a new region is all zero). O(1).
    #[inline]
    pub fn is_initialized(self) -> bool {
        // SAFETY: the root's borrow ends in the comparison.
        unsafe { self.root() }.top != 0
    }

    /// Sets up an empty heap in `start..end` if it is not set up yet, growing memory first when
    /// the region cannot hold the heap's own records (the root must exist before it is read).
    /// Returns false when it cannot. O(1) (and a `grow` of the source when the records need it).
    pub fn ensure_init(self, end: u32) -> bool {
        let Some(fresh) = self.set_up(end) else { return false };
        if fresh {
            // SAFETY: segment 0's record is borrowed for this call alone.
            unsafe { self.segment(0) }.reset(1, 0);
        }
        true
    }

    /// `ensure_init` but for segment 0's record, which the caller resets when this returns
    /// `Some(true)` (a heap set up now); `None` when memory cannot hold the heap's records.
    fn set_up(self, end: u32) -> Option<bool> {
        let control = self.start + ROOT_SIZE;
        let mut end = end.min(MAX_END) & !7;
        if end < self.first() {
            end = self.source.grow(end, self.first())?;
        }
        if self.is_initialized() {
            return Some(false);
        }
        // SAFETY: `root` is the only borrow of the root until this function returns; the stores
        // below go through `mem`, to the control block's header, not to the root.
        let root = unsafe { self.root() };
        root.end = end;
        root.segments[0] = control;
        self.mem.store(control, CONTROL_SIZE);
        self.mem.store_at(control, 4, 0);
        root.top = self.first();
        root.clock = 1;
        root.newest = 0;
        Some(true)
    }

    // ---- allocate ----

    /// A block of at least `request` bytes, its payload 8-aligned: the payload's offset; 0 when
    /// the request is above [`block::MAX_REQUEST`] or memory cannot grow (counted in `failures`).
    /// A request of 0 gets a block of its own. O(1) (and a `grow` of the source when the top
    /// passes the end of memory).
    pub fn allocate(self, request: u32) -> u32 {
        let Some(size) = block::block_size(request) else { return self.failed() };
        self.allocate_block::<false>(size, request)
    }

    /// A block of `size` bytes for `request`, from the newest segment, wherever `take_block`
    /// finds it; 0 when it cannot. With `C16`, a block whose payload is 16-aligned.
    #[inline(never)]
    fn allocate_block<const C16: bool>(self, size: u32, request: u32) -> u32 {
        // SAFETY: `segment` is the only borrow of the newest record until `hand_out`; the calls
        // in between take the root, not a segment (`allocate_with_gap` takes its own, and
        // `segment` is not used after it).
        let segment = unsafe { self.newest() };
        let (block, size) = self.take_block::<C16>(segment, size);
        if C16 && block == SHIFTED {
            return self.allocate_with_gap(size, request, 16);
        }
        if block == 0 {
            return self.failed();
        }
        self.count(Event::Allocation);
        self.hand_out(segment, block, size, request)
    }

    /// As [`Heap::allocate`], the payload a multiple of `align`, a power of two up to
    /// [`MAX_ALIGN`] (below 8 gives 8); any other `align` returns 0 (counted in `failures`).
    /// O(1): the search asks for `align` more bytes, so that the first block it finds fits.
    pub fn allocate_aligned(self, request: u32, align: u32) -> u32 {
        if align <= HEADER {
            return if align.is_power_of_two() { self.allocate(request) } else { self.failed() };
        }
        if align == 16 {
            return self.allocate16(request);
        }
        let Some(size) = block::block_size(request).filter(|_| align.is_power_of_two() && align <= MAX_ALIGN) else {
            return self.failed();
        };
        self.allocate_with_gap(size, request, align)
    }

    /// `allocate_aligned(request, 16)`, C's alignment (`malloc` and friends), in a block whose
    /// size is a multiple of 16 (`block_size16`). Segment 0's first block, control blocks and the
    /// blocks of such requests all keep payloads 16-aligned, so the paths of `allocate` serve it
    /// as they find blocks; only where 8-aligned blocks have shifted the block they would take (a
    /// heap that mixes both) does it fall back to a block with a gap in front (`take_aligned`).
    /// O(1).
    pub fn allocate16(self, request: u32) -> u32 {
        let Some(size) = block::block_size16(request) else { return self.failed() };
        self.allocate_block::<true>(size, request)
    }

    /// A block of `size` bytes for `request` whose payload is `align`-aligned, with a gap in
    /// front where it needs one; 0 when it cannot. (Alignments above 16, and C's blocks where
    /// 8-aligned ones shifted them: not a hot path.)
    #[inline(never)]
    fn allocate_with_gap(self, size: u32, request: u32, align: u32) -> u32 {
        // SAFETY: as in `allocate_block`: the only borrow of the newest record until `hand_out`.
        let segment = unsafe { self.newest() };
        let block = self.take_aligned(segment, size, align);
        if block == 0 {
            return self.failed();
        }
        self.count(Event::Allocation);
        self.hand_out(segment, block, self.mem.load(block) & SIZE_MASK, request)
    }

    /// A used block of at least `size` bytes from `segment`, the newest, whose payload is
    /// `align`-aligned, or 0: cut from a listed block found large enough for any gap, or at the
    /// top. The payload may need a gap in front, itself a free block: at most align - 8 bytes, or
    /// that plus `align` when the gap would be too small to be a block. (Cannot wrap: see
    /// MAX_REQUEST.)
    #[inline(never)]
    pub(super) fn take_aligned(self, segment: &mut Segment, size: u32, align: u32) -> u32 {
        let found = segment.take(self.mem, size + align + MIN_BLOCK);
        if found == 0 {
            return self.carve_aligned(segment, size, align);
        }
        let gap = aligned_gap(found, align);
        let total = self.mem.load(found) & SIZE_MASK;
        if gap == 0 {
            self.split(segment, found, total, size);
        } else {
            let flags = self.make_free(segment, found, gap);
            self.split(segment, found + gap, total - gap, size);
            self.mem.store(found + gap, self.mem.load(found + gap) | flags);
        }
        found + gap
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn failed(self) -> u32 {
        self.count(Event::Failure);
        0
    }

    /// A used block of at least `size` bytes from `segment`, the newest, and its size; or block
    /// 0: from its bins (a small block), its class lists, or cut at the top. Its header is
    /// written; its tag is not, and it is not counted yet. With `C16` (C's blocks) only a block
    /// whose payload is 16-aligned is taken: when the one these paths would take is not, the
    /// block is [`SHIFTED`] and nothing has changed.
    #[inline(always)]
    fn take_block<const C16: bool>(self, segment: &mut Segment, size: u32) -> (u32, u32) {
        if size <= BIN_MAX {
            if segment.has_binned() {
                // A binned block's neighbours are used: it was free alone.
                let block = segment.unbin_exact(self.mem, size);
                if block != 0 {
                    if C16 && shifted(block) {
                        segment.bin(self.mem, block, size); // back where it was
                        return (SHIFTED, size);
                    }
                    self.mem.store(block, size);
                    self.clear_prev_free(block + size);
                    return (block, size);
                }
                let block = segment.unbin_larger(self.mem, size);
                if block != 0 {
                    let total = self.mem.load(block) & SIZE_MASK;
                    if C16 && shifted(block) {
                        segment.bin(self.mem, block, total);
                        return (SHIFTED, size);
                    }
                    return (block, self.split(segment, block, total, size));
                }
            }
            if segment.has_listed() {
                if C16 && shifted(segment.smallest_head()) {
                    return (SHIFTED, size);
                }
                let (block, total) = segment.cut_smallest(self.mem, size);
                if total == size {
                    return (block, size); // cut where it lies
                }
                return (block, self.split(segment, block, total, size));
            }
            // SAFETY: the root's borrow ends in the condition.
            if C16 && shifted(unsafe { self.root() }.top) {
                return (SHIFTED, size);
            }
            return (self.carve(segment, size), size);
        }
        self.new_block::<C16>(segment, size)
    }

    /// A used block of at least `size` bytes from `segment`'s class lists, or cut at the top, and
    /// its size; or block 0, or with `C16` [`SHIFTED`] (see `take_block`). (Not from the bins: a
    /// block that `reallocate` moves tends to grow again, and a block of the lists or at the top
    /// leaves it more room than the small blocks of the bins.)
    #[inline(always)]
    pub(super) fn new_block<const C16: bool>(self, segment: &mut Segment, size: u32) -> (u32, u32) {
        let found = segment.take(self.mem, size);
        if found == 0 {
            // SAFETY: the root's borrow ends in the condition.
            if C16 && shifted(unsafe { self.root() }.top) {
                return (SHIFTED, size);
            }
            return (self.carve(segment, size), size);
        }
        let total = self.mem.load(found) & SIZE_MASK;
        if C16 && shifted(found) {
            segment.insert(self.mem, found, total); // its header still says free
            return (SHIFTED, size);
        }
        (found, self.split(segment, found, total, size))
    }

    /// A used block of `size` bytes cut at the top, or 0. The block below the top is never free,
    /// so the new header has no flags.
    #[inline(always)]
    pub(crate) fn carve(self, segment: &mut Segment, size: u32) -> u32 {
        // SAFETY: `root` is not used after `carve_slow`, which takes the root again.
        let root = unsafe { self.root() };
        let block = root.top;
        let new_top = block.wrapping_add(size);
        // Also taken when the heap is not set up yet: its top and end are 0.
        if new_top > root.end || new_top < block {
            return self.carve_slow(segment, size);
        }
        root.top = new_top;
        self.mem.store(block, size);
        block
    }

    /// `carve` when memory must grow first, or the heap be set up.
    #[cold]
    #[inline(never)]
    fn carve_slow(self, segment: &mut Segment, size: u32) -> u32 {
        if !self.set_up_newest(segment) {
            return 0;
        }
        // SAFETY: each of the root's borrows here ends with its statement (`reserve` takes it).
        let block = unsafe { self.root() }.top;
        let Some(new_top) = block.checked_add(size).filter(|&t| self.reserve(t)) else { return 0 };
        // SAFETY: as above.
        unsafe { self.root() }.top = new_top;
        self.mem.store(block, size);
        block
    }

    /// Sets the heap up if it is not yet; `segment` is the newest (in a heap not set up yet,
    /// segment 0's record, all zero). False when memory cannot hold the heap's records.
    fn set_up_newest(self, segment: &mut Segment) -> bool {
        if self.is_initialized() {
            return true;
        }
        let Some(fresh) = self.set_up(0) else { return false };
        if fresh {
            segment.reset(1, 0);
        }
        true
    }

    /// A used block of `size` bytes with an `align`-aligned payload, cut at the top, or 0. The gap
    /// in front becomes a free block of `segment`, the newest.
    fn carve_aligned(self, segment: &mut Segment, size: u32, align: u32) -> u32 {
        if !self.set_up_newest(segment) {
            return 0;
        }
        // SAFETY: each of the root's borrows here ends with its statement (`reserve` takes it).
        let top = unsafe { self.root() }.top;
        let gap = aligned_gap(top, align);
        let block = top.wrapping_add(gap);
        let Some(new_top) = block.checked_add(size).filter(|_| block >= top) else { return 0 };
        if !self.reserve(new_top) {
            return 0;
        }
        // SAFETY: as above.
        unsafe { self.root() }.top = new_top;
        let flags = if gap != 0 { self.make_free(segment, top, gap) } else { 0 };
        self.mem.store(block, size | flags);
        block
    }

    /// Turns the free block `[block, block + total)`, already off its list, into a used block of
    /// `size` bytes (its header without `PREV_FREE`: a free block's predecessor is used). A tail
    /// of at least `MIN_BLOCK` becomes a free block; a shorter tail stays in the block. Returns
    /// the block's size.
    #[inline(never)]
    pub(super) fn split(self, segment: &mut Segment, block: u32, total: u32, size: u32) -> u32 {
        if total - size >= MIN_BLOCK {
            self.make_free(segment, block + size, total - size);
            self.mem.store(block, size);
            size
        } else {
            self.mem.store(block, total);
            self.clear_prev_free(block + total);
            total
        }
    }

    /// Writes a free block's header and footer and puts it on its bin (up to `BIN_MAX` bytes) or
    /// its class list. Both its neighbours must be used. Returns `PREV_FREE`, the flag
    /// its successor must carry.
    #[inline(never)]
    pub(super) fn make_free(self, segment: &mut Segment, block: u32, size: u32) -> u32 {
        debug_assert!(size >= MIN_BLOCK && size % 8 == 0);
        self.mem.store(block + size - 4, size);
        if size <= BIN_MAX {
            self.mem.store(block, size | FREE | BINNED);
            segment.bin(self.mem, block, size);
        } else {
            self.mem.store(block, size | FREE);
            segment.insert(self.mem, block, size);
        }
        PREV_FREE
    }

    fn clear_prev_free(self, block: u32) {
        // SAFETY: the root's borrow ends in the assertion.
        debug_assert!(block < unsafe { self.root() }.top, "a free block touched the top");
        self.mem.store(block, self.mem.load(block) & !PREV_FREE);
    }

    /// Makes memory reach `new_end`, growing it if needed. False when it cannot.
    #[inline]
    pub(super) fn reserve(self, new_end: u32) -> bool {
        // SAFETY: the root's borrow ends in the comparison, before `grow_to` takes it.
        new_end <= unsafe { self.root() }.end || self.grow_to(new_end)
    }

    #[cold]
    #[inline(never)]
    fn grow_to(self, new_end: u32) -> bool {
        // SAFETY: one statement's borrow; the source's `grow` does not touch the heap's records.
        let end = unsafe { self.root() }.end;
        let grown = if new_end <= MAX_END { self.source.grow(end, new_end) } else { None };
        let Some(grown) = grown else { return false };
        // SAFETY: the root's borrow ends with this statement.
        unsafe { self.root() }.end = grown;
        self.count(Event::MemoryGrow);
        true
    }

    /// Tags a new used block of `segment` for `request` bytes: it is live.
    #[inline(always)]
    pub(super) fn hand_out(self, segment: &mut Segment, block: u32, size: u32, request: u32) -> u32 {
        self.mem.store_at(block, 4, block::tag(block, segment.key, segment.tag_base, size, request));
        block + HEADER
    }

    /// Brings the top down to `top`, keeping the highest it was in `peak_top`.
    #[inline(always)]
    pub(crate) fn lower_top(self, top: u32) {
        // SAFETY: the only borrow of the root until this function returns, which calls nothing.
        let root = unsafe { self.root() };
        root.peak_top = root.peak_top.max(root.top);
        root.top = top;
    }
}

/// Index of a depth in the segment table; the mask spares a bounds check (depth ≤ MAX_DEPTH).
#[inline(always)]
pub(crate) fn slot(depth: u32) -> usize {
    depth as usize & MAX_DEPTH as usize
}

/// What `take_block` returns for C's blocks when the block it would take has a payload that is
/// not 16-aligned: never a block (blocks are 8-aligned).
pub(super) const SHIFTED: u32 = 1;

/// Whether a block at `block` (8-aligned) has a payload that is not 16-aligned.
#[inline(always)]
fn shifted(block: u32) -> bool {
    block & 8 == 0
}

/// Bytes to skip from a block at `at` so that its payload is `align`-aligned: 0 or a gap large
/// enough to be a free block.
fn aligned_gap(at: u32, align: u32) -> u32 {
    let payload = at + HEADER;
    let mut gap = payload.wrapping_neg() & (align - 1);
    if gap != 0 && gap < MIN_BLOCK {
        gap += align;
    }
    gap
}
