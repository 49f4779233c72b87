//! The stack of segments (src/CONTRACT.md, "Marks"): the base, then one segment per mark or floor
//! in force. A block belongs to the segment that was newest when it was allocated (or moved by
//! `reallocate`), and goes when its segment goes:
//!
//! - `free_get_mark()` pushes a mark (a token not in force), up to [`MAX_DEPTH`];
//! - `free_to_mark(m)` drops m's segment and all above it (their marks are used up); when that
//!   takes the floor down with it, the floor comes down to the state after the call: a new, empty
//!   floor segment where m's was;
//! - `free_all_mark()` pushes a floor, unless the newest segment is already an empty floor;
//! - `free_all()` drops the segments above the floor and empties the floor's.
//!
//! The base segment (depth 0) is the floor until `free_all_mark` is called.

use crate::MAX_DEPTH;
use crate::history::History;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    Base,
    Mark(u32),
    Floor,
}

#[derive(Clone, Debug)]
pub struct Segments {
    segs: Vec<Seg>,
    floor: usize,
    /// Marks used up by `free_to_mark` or `free_all`, newest last.
    pub used_marks: History<u32>,
}

impl Default for Segments {
    fn default() -> Self {
        Segments::new()
    }
}

impl Segments {
    pub fn new() -> Segments {
        Segments { segs: vec![Seg::Base], floor: 0, used_marks: History::new(1024) }
    }

    /// How many marks and floors are in force (`stats().mark_depth`).
    pub fn depth(&self) -> usize {
        self.segs.len() - 1
    }

    pub fn floor(&self) -> usize {
        self.floor
    }

    /// The segments, the base first.
    pub fn kinds(&self) -> &[Seg] {
        &self.segs
    }

    /// Whether one more mark or floor may be pushed.
    pub fn has_room(&self) -> bool {
        self.depth() < MAX_DEPTH
    }

    /// The marks in force, oldest first, with the depth of their segment.
    pub fn marks(&self) -> impl DoubleEndedIterator<Item = (usize, u32)> + '_ {
        self.segs.iter().enumerate().filter_map(|(d, s)| match s {
            Seg::Mark(m) => Some((d, *m)),
            _ => None,
        })
    }

    /// The depth of mark `m`, if it is in force.
    pub fn depth_of(&self, m: u32) -> Option<usize> {
        self.marks().find(|&(_, x)| x == m).map(|(d, _)| d)
    }

    /// `free_get_mark()` returned `m` (non-zero).
    pub fn push_mark(&mut self, m: u32) {
        self.segs.push(Seg::Mark(m));
    }

    /// `free_all_mark()` made a new floor on top.
    pub fn push_floor(&mut self) {
        self.segs.push(Seg::Floor);
        self.floor = self.depth();
    }

    /// `free_to_mark` of the mark at depth `d`: returns the depth from which blocks are released
    /// (`d`: its segment and all above).
    pub fn to_mark(&mut self, d: usize) -> usize {
        self.drop_from(d);
        if self.floor >= d {
            self.push_floor();
        }
        d
    }

    /// `free_all()`: returns the depth from which blocks are released (the floor's).
    pub fn free_all(&mut self) -> usize {
        self.drop_from(self.floor + 1);
        self.floor
    }

    fn drop_from(&mut self, d: usize) {
        for s in self.segs.drain(d..) {
            if let Seg::Mark(m) = s {
                self.used_marks.push(m);
            }
        }
    }
}
