//! The live blocks of a heap over its [`Segments`] and [`Counters`]. Each method takes what one
//! call of the heap did, checks it against the rules and brings the model up to date; the driver
//! calls the heap, writes and checks contents, and decides what its environment allows (whether
//! memory could grow).

use std::collections::BTreeMap;

use crate::history::History;
use crate::rules::block_align;
use crate::{Check, Counters, Segments, Stats, ensure};

/// A live block. `T` is what the driver needs to know its contents by (a pattern id, a fill byte).
#[derive(Clone, Copy, Debug)]
pub struct Block<T> {
    pub size: u32,
    /// The alignment the pointer must keep (8, or what `allocate_aligned` asked for).
    pub align: u32,
    /// The depth of the segment the block belongs to.
    pub seg: usize,
    pub tag: T,
}

#[derive(Clone, Debug)]
pub struct Model<T> {
    /// The live blocks by pointer, in address order.
    pub blocks: BTreeMap<u32, Block<T>>,
    pub segments: Segments,
    pub counters: Counters,
    /// Pointers that were live once and were released (freed, moved, dropped with a segment).
    pub dead: History<u32>,
    /// The base segment holds a block the model does not track (a harness's stats scratch
    /// block), so it is never empty.
    pub pinned_base: bool,
    /// `stats().peak_bytes` is the exact peak of live bytes (the debug flavor), not the most the
    /// heap spanned.
    pub exact_peak: bool,
}

impl<T: Copy> Default for Model<T> {
    fn default() -> Self {
        Model::new()
    }
}

impl<T: Copy> Model<T> {
    pub fn new() -> Model<T> {
        Model {
            blocks: BTreeMap::new(),
            segments: Segments::new(),
            counters: Counters::default(),
            dead: History::new(4096),
            pinned_base: false,
            exact_peak: false,
        }
    }

    pub fn depth(&self) -> usize {
        self.segments.depth()
    }

    /// The `n`-th live block in address order (mod their count).
    pub fn nth(&self, n: usize) -> Option<(u32, Block<T>)> {
        let len = self.blocks.len();
        (len > 0).then(|| self.blocks.iter().nth(n % len).map(|(&p, &b)| (p, b)).unwrap())
    }

    // ---- blocks -----------------------------------------------------------------------------

    /// An allocation asked with `align` returned `q` (non-zero) for `size` bytes: a new block in
    /// the newest segment.
    pub fn allocated(&mut self, q: u32, size: u32, align: u32, tag: T) -> Check {
        let align = block_align(align);
        ensure!(q.is_multiple_of(align), "pointer {q:#x} is not aligned to {align}");
        self.clear_of_others(q, size, 0)?; // 0 is never live: q itself is checked too
        let seg = self.depth();
        self.blocks.insert(q, Block { size, align, seg, tag });
        self.counters.allocated(size);
        Ok(())
    }

    /// A request returned 0: a failure.
    pub fn failed(&mut self) {
        self.counters.failures += 1;
    }

    /// `deallocate(p)`: the block it freed, or `None` (then a rejected free, unless `p` is 0).
    pub fn deallocated(&mut self, p: u32) -> Option<Block<T>> {
        if p == 0 {
            return None;
        }
        let Some(b) = self.blocks.remove(&p) else {
            self.counters.rejected_frees += 1;
            return None;
        };
        self.counters.freed(b.size);
        self.dead.push(p);
        Some(b)
    }

    /// `reallocate(p, size)` of a pointer that is not a live block returned `q`: it must be 0,
    /// and it is a rejected free.
    pub fn rejected_realloc(&mut self, p: u32, size: u32, q: u32) -> Check {
        ensure!(q == 0, "reallocate({p:#x}, {size}) of a pointer that is not live returned {q:#x}");
        self.counters.rejected_frees += 1;
        Ok(())
    }

    /// `reallocate(p, size)` of live block `p` returned 0: the block stays as it was. Only a
    /// growth may fail (whether memory could grow is the driver's to judge).
    pub fn realloc_failed(&mut self, p: u32, size: u32) -> Check {
        let old = self.blocks[&p].size;
        ensure!(size > old, "reallocate({p:#x}, {size}) of a live block of size {old} returned 0");
        self.failed();
        Ok(())
    }

    /// `reallocate(p, size)` of live block `p` returned `q` (non-zero): the block is now `q`,
    /// holding `tag`; returns the old block. A shrink stays in place; a moved block is 8-aligned,
    /// clear of every live block, and belongs to the newest segment.
    pub fn reallocated(&mut self, p: u32, q: u32, size: u32, tag: T) -> Check<Block<T>> {
        let old = self.blocks[&p];
        let what = || format!("reallocate({p:#x}, {size}) of a block of size {}", old.size);
        ensure!(size > old.size || q == p, "{} moved it to {q:#x} though it shrank", what());
        let mut new = Block { size, tag, ..old };
        self.clear_of_others(q, size, p).map_err(|e| format!("{}: {e}", what()))?;
        if q != p {
            ensure!(q.is_multiple_of(8), "{} moved it to a misaligned {q:#x}", what());
            self.blocks.remove(&p);
            self.dead.push(p);
            (new.align, new.seg) = (8, self.depth());
        }
        self.blocks.insert(q, new);
        self.counters.reallocated(old.size, size);
        Ok(old)
    }

    /// A block at `q` of `size` bytes (at least one) overlaps no live block but `except`: its
    /// neighbours in address order are checked, so the cost is O(log blocks).
    fn clear_of_others(&self, q: u32, size: u32, except: u32) -> Check {
        let others = |b: &(&u32, &Block<T>)| *b.0 != except;
        if let Some((&a, b)) = self.blocks.range(..=q).rev().find(others) {
            let end = a as u64 + b.size.max(1) as u64;
            ensure!(end <= q as u64, "{q:#x}+{size} overlaps live block {a:#x}+{}", b.size);
        }
        if let Some((&a, _)) = self.blocks.range(q..).find(others) {
            let end = q as u64 + size.max(1) as u64;
            ensure!(end <= a as u64, "{q:#x}+{size} overlaps live block {a:#x}");
        }
        Ok(())
    }

    /// Drops every block of the segments from depth `d` up; returns them.
    fn release_from(&mut self, d: usize) -> Vec<(u32, Block<T>)> {
        let gone: Vec<(u32, Block<T>)> =
            self.blocks.iter().filter(|(_, b)| b.seg >= d).map(|(&p, &b)| (p, b)).collect();
        for (p, b) in &gone {
            self.blocks.remove(p);
            self.dead.push(*p);
            self.counters.released(b.size);
        }
        gone
    }

    // ---- marks ------------------------------------------------------------------------------

    /// `free_get_mark()` returned `m`: 0 at the depth limit (a failure), else a new mark, not one
    /// in force. A 0 below the limit is a failure too; whether memory could grow is the driver's
    /// to judge.
    pub fn mark_taken(&mut self, m: u32) -> Check {
        let depth = self.depth();
        ensure!(self.segments.has_room() || m == 0, "free_get_mark() at depth {depth} returned {m:#x}, not 0");
        if m == 0 {
            self.failed();
            return Ok(());
        }
        ensure!(self.segments.depth_of(m).is_none(), "free_get_mark() returned {m:#x}, a mark in force");
        self.segments.push_mark(m);
        Ok(())
    }

    /// `free_to_mark(m)`: the blocks it released, or `None` for a mark not in force (rejected).
    pub fn to_mark(&mut self, m: u32) -> Option<Vec<(u32, Block<T>)>> {
        let Some(d) = self.segments.depth_of(m) else {
            self.counters.rejected_marks += 1;
            return None;
        };
        let from = self.segments.to_mark(d);
        Some(self.release_from(from))
    }

    /// Whether `free_all_mark()` must do nothing now: the newest segment is an empty floor.
    pub fn all_mark_is_noop(&self) -> bool {
        let top = self.depth();
        let top_empty = !(top == 0 && self.pinned_base) && self.blocks.values().all(|b| b.seg != top);
        self.segments.floor() == top && top_empty
    }

    /// `free_all_mark()` (not a no-op): `pushed` whether it made a new floor (else it failed: at
    /// the depth limit, or out of memory).
    pub fn all_marked(&mut self, pushed: bool) -> Check {
        if !pushed {
            self.failed();
            return Ok(());
        }
        ensure!(self.segments.has_room(), "free_all_mark() went past depth {}", self.depth());
        self.segments.push_floor();
        Ok(())
    }

    /// `free_all()`: the blocks it released.
    pub fn all_freed(&mut self) -> Vec<(u32, Block<T>)> {
        let from = self.segments.free_all();
        self.release_from(from)
    }

    // ---- the whole -------------------------------------------------------------------------

    /// The counters and the depth of `stats` against the model's.
    pub fn check_stats(&self, s: &Stats) -> Check {
        self.counters.compare(&Counters::of(s), self.exact_peak)?;
        let depth = self.depth();
        ensure!(s.mark_depth as usize == depth, "stats.mark_depth = {}, model says {depth}", s.mark_depth);
        Ok(())
    }

    /// Live blocks must not overlap (a block of size 0 takes a byte); `extra` spans (pointer,
    /// length) are checked with them. Returns where the highest ends.
    pub fn check_spans(&self, extra: &[(u32, u32)]) -> Check<u32> {
        let mut spans: Vec<(u32, u32)> = self.blocks.iter().map(|(&p, b)| (p, b.size.max(1))).collect();
        spans.extend_from_slice(extra);
        spans.sort_unstable();
        let mut end = 0;
        for (p, len) in spans {
            ensure!(p >= end, "block {p:#x} overlaps the block before it (which ends at {end:#x})");
            end = p + len;
        }
        Ok(end)
    }
}
