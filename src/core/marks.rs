//! Marks: arena semantics on top of the heap, each step O(1).
//!
//! A mark pushes a new segment at the top of the heap (see `segment.rs`). From then on every
//! allocation comes from that segment, so "allocated or moved after the mark" is exactly "lives in
//! a segment at or above the mark's depth": `free_to_mark` drops those segments whole, without
//! looking at their blocks. Blocks of older segments stay valid and are freed into their own
//! segment's lists, which serve allocations again once that segment is the newest.
//!
//! A mark token is `id << 8 | depth`, `id` being the low 24 bits of the segment's id; it is valid
//! while the segment at `depth` still has that id. The floor (`free_all_mark`) is a segment that
//! `free_all` empties in place instead of dropping.

use crate::core::block::HEADER;
use crate::core::heap::{CONTROL_SIZE, Heap, MAX_DEPTH, slot};
use crate::core::source::Source;
use crate::core::stats::Event;

const DEPTH_MASK: u32 = 0xFF;
const _: () = assert!(MAX_DEPTH == DEPTH_MASK);

impl<S: Source> Heap<S> {
    /// A non-zero token for the current state: a new segment starts at the top. 0 when marks are
    /// nested [`MAX_DEPTH`] deep or the segment's control block cannot be had (counted in
    /// `failures`). O(1).
    pub fn free_get_mark(self) -> u32 {
        match self.push_segment() {
            // SAFETY: the new segment's record is borrowed for this expression alone.
            Some(depth) => (unsafe { self.segment(depth) }.id & 0xFF_FFFF) << 8 | depth,
            None => {
                self.count(Event::Failure);
                0
            }
        }
    }

    /// Releases every block allocated, or moved by `reallocate`, after `mark` was taken: its
    /// segment and those above it are dropped whole. A stale or made-up mark changes nothing but
    /// `rejected_marks`. O(segments dropped), each O(1), whatever the blocks they hold.
    pub fn free_to_mark(self, mark: u32) {
        let depth = mark & DEPTH_MASK;
        // SAFETY: each borrow ends in its comparison; the segment's depth is at most the root's
        // (tested first), so the segment table names a live record.
        let valid = depth != 0
            && depth <= unsafe { self.root() }.depth
            && unsafe { self.segment(depth) }.id & 0xFF_FFFF == mark >> 8;
        if !valid {
            self.count(Event::RejectedMark);
            return;
        }
        // SAFETY: the root's borrow ends with this statement.
        if depth > unsafe { self.root() }.floor {
            self.pop_to(depth - 1);
        } else {
            // The floor was set after this mark: it comes down to the state the call leaves,
            // which is this mark's segment, emptied.
            self.pop_to(depth);
            self.empty_newest();
            // SAFETY: the root's borrow ends with this statement.
            unsafe { self.root() }.floor = depth;
        }
    }

    /// Releases every block allocated since the floor (at first: every block): the segments above
    /// it are dropped and the floor's emptied. O(segments dropped or emptied).
    pub fn free_all(self) {
        // SAFETY: the root's borrow ends when the argument is read, before `pop_to` takes it.
        self.pop_to(unsafe { self.root() }.floor);
        self.empty_newest();
    }

    /// Makes the current state the floor that [`Heap::free_all`] comes back to; nothing when the
    /// newest segment is already an empty floor. As [`Heap::free_get_mark`] it starts a segment,
    /// and fails the same way (counted in `failures`). O(1).
    pub fn free_all_mark(self) {
        // SAFETY: `root` is not used after `push_segment`, which takes the root again.
        let root = unsafe { self.root() };
        let newest_is_empty_floor =
            root.depth == root.floor && root.top == self.blocks_of(root.segments[slot(root.depth)]);
        if newest_is_empty_floor {
            return;
        }
        match self.push_segment() {
            // SAFETY: the root's borrow ends with this arm.
            Some(depth) => unsafe { self.root() }.floor = depth,
            None => self.count(Event::Failure),
        }
    }

    /// Starts a new segment at the top; returns its depth.
    fn push_segment(self) -> Option<u32> {
        // SAFETY: the root's borrow ends in the comparison.
        if unsafe { self.root() }.depth == MAX_DEPTH {
            return None;
        }
        // SAFETY: the only borrow of the newest record, for `carve`'s call alone.
        let control = self.carve(unsafe { self.newest() }, CONTROL_SIZE);
        if control == 0 {
            return None;
        }
        self.mem.store(control + 4, 0);
        // SAFETY: `root` is not used after the new segment's record is taken below (the root and
        // the records are apart anyway).
        let root = unsafe { self.root() };
        root.depth += 1;
        root.segments[slot(root.depth)] = control;
        root.newest = control + HEADER - self.first_record();
        root.clock += 1;
        let (depth, id) = (root.depth, root.clock);
        // SAFETY: the new segment's record, borrowed for this call alone.
        unsafe { self.segment(depth) }.reset(id, depth);
        Some(depth)
    }

    /// Drops every segment above `depth`. The segment below a dropped one becomes the newest; its
    /// last block, if free, goes back to the top.
    fn pop_to(self, depth: u32) {
        // SAFETY: each of the four borrows of the root below ends with its statement, but `root`,
        // which is not used after `lower_top` and `segment` take the root again.
        while unsafe { self.root() }.depth > depth {
            // SAFETY: as above.
            let newest = unsafe { self.root() }.depth;
            // SAFETY: as above.
            let control = unsafe { self.root() }.segments[slot(newest)];
            self.lower_top(control);
            // SAFETY: as above.
            let root = unsafe { self.root() };
            root.depth -= 1;
            // Tags of the dropped segment now read segment 0's key (see Root::segments).
            root.segments[slot(newest)] = root.segments[0];
            if self.mem.load(control) & crate::core::block::PREV_FREE != 0 {
                let last = control - self.mem.load(control - 4);
                // SAFETY: the record of the segment below, borrowed for this call alone.
                unsafe { self.segment(newest - 1) }.unlist(self.mem, last, self.mem.load(last));
                // SAFETY: the root's borrow ends with this statement.
                unsafe { self.root() }.top = last;
            }
            // SAFETY: the only borrow of the root until the end of the loop's body.
            let root = unsafe { self.root() };
            root.newest = root.segments[slot(root.depth)] + HEADER - self.first_record();
        }
    }

    /// Releases every block of the newest segment; the segment stays, with a new id and epoch.
    fn empty_newest(self) {
        // SAFETY: one statement's borrow.
        let depth = unsafe { self.root() }.depth;
        // SAFETY: the root's borrow ends when the argument is read, before the calls take it.
        self.lower_top(self.blocks_of(unsafe { self.root() }.segments[slot(depth)]));
        // SAFETY: the only borrow of the root until this function returns.
        let root = unsafe { self.root() };
        root.clock += 1;
        let id = root.clock;
        // SAFETY: the newest segment's record, borrowed for this call alone.
        unsafe { self.segment(depth) }.reset(id, depth);
    }
}
