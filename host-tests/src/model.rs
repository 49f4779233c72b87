//! A shadow model of the raw ABI, following src/CONTRACT.md ("The raw ABI", "Marks", "Statistics").
//!
//! The model knows every live block the test allocated (pointer, requested size, alignment, the
//! bytes written into it, the segment it belongs to) and the stack of segments (the base, marks,
//! floors). [`Model::apply`] performs one [`Op`] on a [`Heap`] and on the model, checking what the
//! call returned; [`Model::verify`] compares everything observable with the model.
//!
//! Where the outcome depends on memory the model does not track (an allocation while growth is
//! refused may or may not fit in a free block), the model accepts both outcomes and counts the
//! failure if there was one. Everything else is exact.

use crate::{Heap, Stats, pattern};
use std::collections::BTreeMap;

/// Deepest nesting of marks and floors (CONTRACT.md: "`0` when marks are nested 255 deep").
pub const MAX_DEPTH: usize = 255;

#[derive(Clone, Debug)]
pub struct Block {
    pub size: u32,
    /// Alignment the pointer must keep (8, or what `allocate_aligned` asked for).
    pub align: u32,
    /// Index of the segment the block lives in.
    pub seg: usize,
    /// The bytes the test wrote; `data.len() == size`.
    pub data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    Base,
    Mark(u32),
    Floor,
}

/// A pointer that is not a live block, chosen relative to the model's state.
#[derive(Clone, Copy, Debug)]
pub enum Bad {
    /// A pointer freed earlier (double free), or released by `free_to_mark` / `free_all`.
    Dead(usize),
    /// `p + off` for a live block `p` with `size > off`.
    Interior(usize, u32),
    /// `p + k`, `k` in 1..=7, for a live block `p`.
    Misaligned(usize, u32),
    /// `heap_start - 8 * k` (clamped to stay non-zero).
    Below(u32),
    /// `memory size + 8 * k`.
    Beyond(u32),
}

#[derive(Clone, Debug)]
pub enum Op {
    /// Nothing (what the property test shrinks operations to).
    Nop,
    Alloc(u32),
    /// `allocate_aligned(size, align)`; `align` may be bad on purpose.
    AllocAligned(u32, u32),
    /// `deallocate` of the n-th live block (mod count).
    Free(usize),
    FreeBad(Bad),
    /// `reallocate` of the n-th live block (mod count) to a new size.
    Realloc(usize, u32),
    ReallocNull(u32),
    ReallocBad(Bad, u32),
    GetMark,
    /// `free_to_mark` with the n-th mark in force (mod count).
    ToMark(usize),
    /// `free_to_mark` with a mark that was used up.
    ToMarkStale(usize),
    /// `free_to_mark` with an arbitrary value (skipped if it is a mark in force).
    ToMarkBogus(u32),
    AllMark,
    FreeAll,
    /// `true`: refuse every `memory.grow` from now on; `false`: allow growth again.
    FreezeGrowth(bool),
}

/// Counters of the model, in the units of [`Stats`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub peak: u32,
    pub allocations: u32,
    pub frees: u32,
    pub reallocations: u32,
    pub failures: u32,
    pub rejected_frees: u32,
    pub rejected_marks: u32,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub blocks: BTreeMap<u32, Block>,
    pub segs: Vec<Seg>,
    pub floor: usize,
    pub c: Counters,
    /// Pointers that were live once and were released.
    pub dead: Vec<u32>,
    /// Marks that were used up (by `free_to_mark` or `free_all`).
    pub used_marks: Vec<u32>,
    pub growth_frozen: bool,
    next_id: u64,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

impl Model {
    pub fn new() -> Model {
        Model {
            blocks: BTreeMap::new(),
            segs: vec![Seg::Base],
            floor: 0,
            c: Counters::default(),
            dead: Vec::new(),
            used_marks: Vec::new(),
            growth_frozen: false,
            next_id: 1,
        }
    }

    pub fn depth(&self) -> usize {
        self.segs.len() - 1
    }

    pub fn live_bytes(&self) -> u32 {
        self.blocks.values().map(|b| b.size).sum()
    }

    /// Marks in force, oldest first, with their segment index.
    pub fn marks(&self) -> Vec<(usize, u32)> {
        self.segs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Seg::Mark(m) => Some((i, *m)),
                _ => None,
            })
            .collect()
    }

    fn nth_block(&self, n: usize) -> Option<u32> {
        if self.blocks.is_empty() {
            return None;
        }
        self.blocks.keys().nth(n % self.blocks.len()).copied()
    }

    fn new_data(&mut self, len: u32) -> Vec<u8> {
        self.next_id += 1;
        pattern(self.next_id, len)
    }

    fn touch_peak(&mut self) {
        self.c.peak = self.c.peak.max(self.live_bytes());
    }

    /// Accepts a new block at `q` returned by an allocation call.
    fn add_block(&mut self, h: &mut Heap, q: u32, size: u32, align: u32) -> Result<(), String> {
        ensure!(q % align == 0, "pointer {q:#x} is not aligned to {align}");
        ensure!(
            !self.blocks.contains_key(&q),
            "pointer {q:#x} is already a live block"
        );
        ensure!(
            q != h.scratch(),
            "pointer {q:#x} is the live stats scratch block"
        );
        let data = self.new_data(size);
        ensure!(
            q as u64 + size as u64 <= h.mem_size() as u64,
            "block {q:#x}+{size} ends beyond memory ({:#x})",
            h.mem_size()
        );
        h.write(q, &data);
        let seg = self.depth();
        self.blocks.insert(
            q,
            Block {
                size,
                align,
                seg,
                data,
            },
        );
        self.c.allocations += 1;
        self.touch_peak();
        Ok(())
    }

    fn release_segments_from(&mut self, d: usize) {
        let gone: Vec<u32> = self
            .blocks
            .iter()
            .filter(|(_, b)| b.seg >= d)
            .map(|(&p, _)| p)
            .collect();
        for p in gone {
            self.blocks.remove(&p);
            self.dead.push(p);
        }
        for s in self.segs.drain(d..) {
            if let Seg::Mark(m) = s {
                self.used_marks.push(m);
            }
        }
    }

    /// Resolves a [`Bad`] to a pointer that is not a live block, or `None` if there is none.
    pub fn bad_pointer(&self, h: &Heap, bad: Bad, heap_start: u32) -> Option<u32> {
        let p = match bad {
            Bad::Dead(n) => {
                if self.dead.is_empty() {
                    return None;
                }
                self.dead[self.dead.len() - 1 - n % self.dead.len()]
            }
            Bad::Interior(n, off) => {
                let p = self.nth_block(n)?;
                if self.blocks[&p].size <= off {
                    return None;
                }
                p + off
            }
            Bad::Misaligned(n, k) => self.nth_block(n)? + (1 + k % 7),
            Bad::Below(k) => heap_start.saturating_sub(8 * (1 + k % 64)).max(8),
            Bad::Beyond(k) => h.mem_size().saturating_add(8 * (k % 1024)),
        };
        (p != 0 && !self.blocks.contains_key(&p) && p != h.scratch()).then_some(p)
    }

    // ---- operations --------------------------------------------------------------------------

    pub fn allocate(&mut self, h: &mut Heap, size: u32) -> Result<(), String> {
        let q = h.allocate(size);
        if q == 0 {
            ensure!(
                self.growth_frozen,
                "allocate({size}) returned 0 though memory could grow"
            );
            self.c.failures += 1;
            return Ok(());
        }
        self.add_block(h, q, size, 8)
    }

    pub fn allocate_aligned(&mut self, h: &mut Heap, size: u32, align: u32) -> Result<(), String> {
        let q = h.allocate_aligned(size, align);
        let valid = align.is_power_of_two() && align <= 65536;
        if !valid {
            ensure!(
                q == 0,
                "allocate_aligned({size}, {align}) with a bad align returned {q:#x}"
            );
            self.c.failures += 1;
            return Ok(());
        }
        if q == 0 {
            ensure!(
                self.growth_frozen,
                "allocate_aligned({size}, {align}) returned 0 though memory could grow"
            );
            self.c.failures += 1;
            return Ok(());
        }
        self.add_block(h, q, size, align.max(8))
    }

    pub fn deallocate(&mut self, h: &mut Heap, p: u32) -> Result<(), String> {
        h.deallocate(p);
        if p == 0 {
            return Ok(());
        }
        if self.blocks.remove(&p).is_some() {
            self.dead.push(p);
            self.c.frees += 1;
        } else {
            self.c.rejected_frees += 1;
        }
        Ok(())
    }

    pub fn reallocate(&mut self, h: &mut Heap, p: u32, size: u32) -> Result<(), String> {
        if p == 0 {
            let q = h.reallocate(0, size);
            if q == 0 {
                ensure!(
                    self.growth_frozen,
                    "reallocate(0, {size}) returned 0 though memory could grow"
                );
                self.c.failures += 1;
                return Ok(());
            }
            return self.add_block(h, q, size, 8);
        }
        let Some(old) = self.blocks.get(&p).cloned() else {
            let q = h.reallocate(p, size);
            ensure!(
                q == 0,
                "reallocate({p:#x}, {size}) of a pointer that is not live returned {q:#x}"
            );
            self.c.rejected_frees += 1;
            return Ok(());
        };
        let q = h.reallocate(p, size);
        if q == 0 {
            ensure!(
                self.growth_frozen && size > old.size,
                "reallocate({p:#x}, {size}) of a live block of size {} returned 0",
                old.size
            );
            self.c.failures += 1;
            return Ok(());
        }
        if size <= old.size {
            ensure!(
                q == p,
                "reallocate({p:#x}, {size}) shrinking from {} moved to {q:#x}",
                old.size
            );
        }
        let keep = old.size.min(size) as usize;
        // The kept prefix must have arrived intact (checked before anything else is written).
        ensure!(
            h.read(q, keep as u32) == &old.data[..keep],
            "reallocate({p:#x}, {size}) -> {q:#x} did not keep the first {keep} bytes"
        );
        let mut data = old.data[..keep].to_vec();
        data.extend_from_slice(&self.new_data(size)[keep..]);
        let mut block = Block {
            size,
            align: old.align,
            seg: old.seg,
            data,
        };
        if q != p {
            ensure!(
                q % 8 == 0,
                "reallocate moved to a misaligned pointer {q:#x}"
            );
            ensure!(
                !self.blocks.contains_key(&q),
                "reallocate moved onto live block {q:#x}"
            );
            ensure!(
                q != h.scratch(),
                "reallocate moved onto the stats scratch block"
            );
            self.blocks.remove(&p);
            self.dead.push(p);
            block.align = 8;
            block.seg = self.depth();
        }
        ensure!(
            q as u64 + size as u64 <= h.mem_size() as u64,
            "block {q:#x}+{size} ends beyond memory"
        );
        h.write(q + keep as u32, &block.data[keep..]);
        self.blocks.insert(q, block);
        self.c.reallocations += 1;
        self.touch_peak();
        Ok(())
    }

    pub fn free_get_mark(&mut self, h: &mut Heap) -> Result<(), String> {
        let m = h.free_get_mark();
        if self.depth() >= MAX_DEPTH {
            ensure!(
                m == 0,
                "free_get_mark() at depth {} returned {m:#x}, not 0",
                self.depth()
            );
            self.c.failures += 1;
            return Ok(());
        }
        if m == 0 {
            ensure!(
                self.growth_frozen,
                "free_get_mark() returned 0 at depth {}",
                self.depth()
            );
            self.c.failures += 1;
            return Ok(());
        }
        ensure!(
            !self.marks().iter().any(|&(_, x)| x == m),
            "free_get_mark() returned {m:#x}, a mark already in force"
        );
        self.segs.push(Seg::Mark(m));
        Ok(())
    }

    pub fn free_to_mark(&mut self, h: &mut Heap, m: u32) -> Result<(), String> {
        h.free_to_mark(m);
        let Some((d, _)) = self.marks().into_iter().find(|&(_, x)| x == m) else {
            self.c.rejected_marks += 1;
            return Ok(());
        };
        self.release_segments_from(d);
        if self.floor >= d {
            // The floor comes down to the state after the call: the survivors stay protected
            // and what is allocated next is above the floor, i.e. a new, empty floor segment.
            self.segs.push(Seg::Floor);
            self.floor = d;
        }
        Ok(())
    }

    pub fn free_all_mark(&mut self, h: &mut Heap) -> Result<(), String> {
        h.free_all_mark();
        let top = self.depth();
        // The base segment always holds the harness's stats scratch block.
        let top_empty = top != 0 && !self.blocks.values().any(|b| b.seg == top);
        if self.floor == top && top_empty {
            return Ok(()); // already an empty floor: nothing to do
        }
        if self.growth_frozen && h.stats().mark_depth == self.depth() as u32 {
            // The floor's record did not fit and memory may not grow: nothing happened. The
            // The contract does not say whether this counts as a failure; accept either.
            let failures = h.stats().failures;
            ensure!(
                failures == self.c.failures || failures == self.c.failures + 1,
                "free_all_mark() that could not get a record: failures {failures}, model {}",
                self.c.failures
            );
            self.c.failures = failures;
            return Ok(());
        }
        self.segs.push(Seg::Floor);
        self.floor = self.depth();
        Ok(())
    }

    pub fn free_all(&mut self, h: &mut Heap) -> Result<(), String> {
        h.free_all();
        self.release_segments_from(self.floor + 1);
        let f = self.floor;
        let gone: Vec<u32> = self
            .blocks
            .iter()
            .filter(|(_, b)| b.seg == f)
            .map(|(&p, _)| p)
            .collect();
        for p in gone {
            self.blocks.remove(&p);
            self.dead.push(p);
        }
        Ok(())
    }

    /// Performs `op` on the heap and the model.
    pub fn apply(&mut self, h: &mut Heap, op: &Op) -> Result<(), String> {
        let heap_start = h.raw_stats().heap_start;
        match *op {
            Op::Nop => Ok(()),
            Op::Alloc(size) => self.allocate(h, size),
            Op::AllocAligned(size, align) => self.allocate_aligned(h, size, align),
            Op::Free(n) => match self.nth_block(n) {
                Some(p) => self.deallocate(h, p),
                None => self.deallocate(h, 0),
            },
            Op::FreeBad(bad) => match self.bad_pointer(h, bad, heap_start) {
                Some(p) => self.deallocate(h, p),
                None => Ok(()),
            },
            Op::Realloc(n, size) => match self.nth_block(n) {
                Some(p) => self.reallocate(h, p, size),
                None => Ok(()),
            },
            Op::ReallocNull(size) => self.reallocate(h, 0, size),
            Op::ReallocBad(bad, size) => match self.bad_pointer(h, bad, heap_start) {
                Some(p) => self.reallocate(h, p, size),
                None => Ok(()),
            },
            Op::GetMark => self.free_get_mark(h),
            Op::ToMark(n) => {
                let marks = self.marks();
                match marks.get(n % marks.len().max(1)) {
                    Some(&(_, m)) => self.free_to_mark(h, m),
                    None => Ok(()),
                }
            }
            Op::ToMarkStale(n) => match self.used_marks.len() {
                0 => Ok(()),
                len => self.free_to_mark(h, self.used_marks[len - 1 - n % len]),
            },
            Op::ToMarkBogus(m) => {
                if self.marks().iter().any(|&(_, x)| x == m) {
                    return Ok(());
                }
                self.free_to_mark(h, m)
            }
            Op::AllMark => self.free_all_mark(h),
            Op::FreeAll => self.free_all(h),
            Op::FreezeGrowth(freeze) => {
                self.growth_frozen = freeze;
                if freeze {
                    h.freeze_growth()
                } else {
                    h.unfreeze_growth()
                }
                Ok(())
            }
        }
    }

    // ---- verification ------------------------------------------------------------------------

    /// Compares the heap with the model: `check()`, statistics, every live block's placement,
    /// alignment, `size()` and contents.
    pub fn verify(&self, h: &mut Heap) -> Result<(), String> {
        let code = h.check();
        ensure!(code == 0, "check() = {code}");
        let s = h.stats();
        self.verify_stats(&s, h.heap_end())?;
        let mut end = s.heap_start;
        let scratch = (h.scratch(), crate::SCRATCH);
        let mut spans: Vec<(u32, u32)> = self
            .blocks
            .iter()
            .map(|(&p, b)| (p, b.size.max(1)))
            .collect();
        spans.push(scratch);
        spans.sort();
        for (p, len) in spans {
            ensure!(
                p >= end,
                "block {p:#x} overlaps the block before it (which ends at {end:#x})"
            );
            end = p + len;
        }
        ensure!(
            end <= s.heap_top,
            "a block ends at {end:#x}, above heap_top {:#x}",
            s.heap_top
        );
        for (&p, b) in &self.blocks {
            ensure!(
                p % b.align == 0,
                "block {p:#x} is not aligned to {}",
                b.align
            );
            let n = h.size(p);
            ensure!(n == b.size, "size({p:#x}) = {n}, expected {}", b.size);
            if h.read(p, b.size) != &b.data[..] {
                let got = h.read(p, b.size);
                let i = got.iter().zip(&b.data).position(|(x, y)| x != y).unwrap();
                return Err(format!(
                    "block {p:#x} (size {}) corrupted at byte {i}: {:#04x}, expected {:#04x}",
                    b.size, got[i], b.data[i]
                ));
            }
        }
        Ok(())
    }

    /// Checks the statistics (as returned by [`Heap::stats`]) against the model.
    pub fn verify_stats(&self, s: &Stats, mem_size: u32) -> Result<(), String> {
        let exp = [
            ("live_blocks", s.live_blocks, self.blocks.len() as u32),
            ("live_bytes", s.live_bytes, self.live_bytes()),
            ("peak_live_bytes", s.peak_live_bytes, self.c.peak),
            ("allocations", s.allocations, self.c.allocations),
            ("frees", s.frees, self.c.frees),
            ("reallocations", s.reallocations, self.c.reallocations),
            ("failures", s.failures, self.c.failures),
            ("rejected_frees", s.rejected_frees, self.c.rejected_frees),
            ("rejected_marks", s.rejected_marks, self.c.rejected_marks),
            ("mark_depth", s.mark_depth, self.depth() as u32),
        ];
        for (name, got, want) in exp {
            ensure!(got == want, "stats.{name} = {got}, model says {want}");
        }
        ensure!(
            s.heap_bytes == mem_size - s.heap_start,
            "heap_bytes {} != memory size {mem_size} - heap_start {}",
            s.heap_bytes,
            s.heap_start
        );
        ensure!(
            s.heap_start <= s.heap_top && s.heap_top <= mem_size,
            "heap_top {:#x} outside [heap_start {:#x}, memory size {mem_size:#x}]",
            s.heap_top,
            s.heap_start
        );
        let above_top = mem_size - s.heap_top;
        ensure!(
            s.free_bytes >= above_top && s.free_bytes <= s.heap_bytes,
            "free_bytes {} outside [space above top {above_top}, heap_bytes {}]",
            s.free_bytes,
            s.heap_bytes
        );
        ensure!(
            s.largest_free >= above_top && s.largest_free <= s.free_bytes,
            "largest_free {} outside [space above top {above_top}, free_bytes {}]",
            s.largest_free,
            s.free_bytes
        );
        ensure!(
            s.live_bytes as u64 + s.free_bytes as u64 <= s.heap_bytes as u64,
            "live_bytes {} + free_bytes {} exceed heap_bytes {}",
            s.live_bytes,
            s.free_bytes,
            s.heap_bytes
        );
        Ok(())
    }
}
