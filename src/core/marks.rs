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

const DEPTH_MASK: u32 = 0xFF;
const _: () = assert!(MAX_DEPTH == DEPTH_MASK);

impl<S: Source> Heap<S> {
    pub fn free_get_mark(self) -> u32 {
        match self.push_segment() {
            Some(depth) => (self.segment(depth).id & 0xFF_FFFF) << 8 | depth,
            None => {
                self.root().failures += 1;
                0
            }
        }
    }

    pub fn free_to_mark(self, mark: u32) {
        let depth = mark & DEPTH_MASK;
        let valid = depth != 0 && depth <= self.root().depth && self.segment(depth).id & 0xFF_FFFF == mark >> 8;
        if !valid {
            self.root().rejected_marks += 1;
            return;
        }
        if depth > self.root().floor {
            self.pop_to(depth - 1);
        } else {
            // The floor was set after this mark: it comes down to the state the call leaves,
            // which is this mark's segment, emptied.
            self.pop_to(depth);
            self.empty_newest();
            self.root().floor = depth;
        }
    }

    pub fn free_all(self) {
        self.pop_to(self.root().floor);
        self.empty_newest();
    }

    pub fn free_all_mark(self) {
        let root = self.root();
        let newest_is_empty_floor =
            root.depth == root.floor && root.top == self.blocks_of(root.segments[slot(root.depth)]);
        if newest_is_empty_floor {
            return;
        }
        match self.push_segment() {
            Some(depth) => self.root().floor = depth,
            None => self.root().failures += 1,
        }
    }

    /// Starts a new segment at the top; returns its depth.
    fn push_segment(self) -> Option<u32> {
        if self.root().depth == MAX_DEPTH {
            return None;
        }
        let control = self.carve(self.newest(), CONTROL_SIZE);
        if control == 0 {
            return None;
        }
        self.mem.store(control + 4, 0);
        let root = self.root();
        root.depth += 1;
        root.segments[slot(root.depth)] = control;
        root.newest = control + HEADER - self.first_record();
        root.clock += 1;
        let (depth, id) = (root.depth, root.clock);
        self.segment(depth).reset(id, depth);
        Some(depth)
    }

    /// Drops every segment above `depth`. The segment below a dropped one becomes the newest; its
    /// last block, if free, goes back to the top.
    fn pop_to(self, depth: u32) {
        while self.root().depth > depth {
            let newest = self.root().depth;
            let control = self.root().segments[slot(newest)];
            self.lower_top(control);
            let root = self.root();
            root.depth -= 1;
            // Tags of the dropped segment now read segment 0's key (see Root::segments).
            root.segments[slot(newest)] = root.segments[0];
            if self.mem.load(control) & crate::core::block::PREV_FREE != 0 {
                let last = control - self.mem.load(control - 4);
                self.segment(newest - 1).unlist(self.mem, last, self.mem.load(last));
                self.root().top = last;
            }
            let root = self.root();
            root.newest = root.segments[slot(root.depth)] + HEADER - self.first_record();
        }
    }

    /// Releases every block of the newest segment; the segment stays, with a new id and epoch.
    fn empty_newest(self) {
        let depth = self.root().depth;
        self.lower_top(self.blocks_of(self.root().segments[slot(depth)]));
        let root = self.root();
        root.clock += 1;
        let id = root.clock;
        self.segment(depth).reset(id, depth);
    }
}
