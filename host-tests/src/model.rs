//! The shadow model (`wasmheap_model`) driven through a [`Heap`]: [`Model::apply`] performs one
//! [`Op`] on the heap and hands what it returned to the model, which checks it against the rules;
//! [`Model::verify`] compares everything observable with the model. Every block is filled with a
//! pattern of its own (`wasmheap_model::pattern`), checked when it is verified or reallocated.
//!
//! Where the outcome depends on memory the model does not track (an allocation while growth is
//! refused may or may not fit in a free block), a 0 is accepted while growth is frozen and counted
//! as the failure it is. Everything else is exact.

use crate::{Heap, SCRATCH, Stats};
use wasmheap_model::{Check, ensure, pattern, rules};

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

/// The model of a [`Heap`]: blocks tagged with the id of their pattern.
pub struct Model {
    pub model: wasmheap_model::Model<u64>,
    pub growth_frozen: bool,
    next_id: u64,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Model {
    pub fn new() -> Model {
        let mut model = wasmheap_model::Model::new();
        model.pinned_base = true; // the harness's stats scratch block
        model.exact_peak = crate::debug_flavor();
        Model { model, growth_frozen: false, next_id: 1 }
    }

    pub fn depth(&self) -> usize {
        self.model.depth()
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Whether a request may fail for want of memory: growth is refused, or the heap is a fixed
    /// pool (the static flavor) that a crowded run can fill.
    fn may_run_out(&self, h: &Heap) -> bool {
        self.growth_frozen || h.is_pool()
    }

    /// A request returned 0: allowed only when memory may run out.
    fn refused(&mut self, h: &Heap, what: &str) -> Check {
        ensure!(self.may_run_out(h), "{what} returned 0 though memory could grow");
        self.model.failed();
        Ok(())
    }

    /// The block at `q` (`size` bytes) must lie inside memory and clear of the scratch block.
    fn placed(h: &Heap, q: u32, size: u32) -> Check {
        ensure!(q != h.scratch(), "pointer {q:#x} is the live stats scratch block");
        let end = q as u64 + size as u64;
        ensure!(end <= h.mem_size() as u64, "block {q:#x}+{size} ends beyond memory ({:#x})", h.mem_size());
        Ok(())
    }

    /// An allocation returned `q`: a new block, filled with a new pattern.
    fn adopt(&mut self, h: &mut Heap, what: &str, q: u32, size: u32, align: u32) -> Check {
        if q == 0 {
            return self.refused(h, what);
        }
        Self::placed(h, q, size)?;
        let id = self.new_id();
        self.model.allocated(q, size, align, id)?;
        h.write(q, &pattern(id, size));
        Ok(())
    }

    /// Resolves a [`Bad`] to a pointer that is not a live block, or `None` if there is none.
    fn bad_pointer(&self, h: &mut Heap, bad: Bad) -> Option<u32> {
        let m = &self.model;
        let p = match bad {
            Bad::Dead(n) => m.dead.back(n)?,
            Bad::Interior(n, off) => m.nth(n).filter(|(_, b)| b.size > off).map(|(p, _)| p + off)?,
            Bad::Misaligned(n, k) => m.nth(n)?.0 + (1 + k % 7),
            Bad::Below(k) => h.raw_stats().heap_start.saturating_sub(8 * (1 + k % 64)).max(8),
            Bad::Beyond(k) => h.mem_size().saturating_add(8 * (k % 1024)),
        };
        (p != 0 && !m.blocks.contains_key(&p) && p != h.scratch()).then_some(p)
    }

    // ---- operations --------------------------------------------------------------------------

    pub fn allocate(&mut self, h: &mut Heap, size: u32) -> Check {
        let q = h.allocate(size);
        self.adopt(h, &format!("allocate({size})"), q, size, 8)
    }

    pub fn allocate_aligned(&mut self, h: &mut Heap, size: u32, align: u32) -> Check {
        let q = h.allocate_aligned(size, align);
        let what = format!("allocate_aligned({size}, {align})");
        if !rules::valid_align(align) {
            ensure!(q == 0, "{what} with a bad align returned {q:#x}");
            self.model.failed();
            return Ok(());
        }
        self.adopt(h, &what, q, size, align)
    }

    pub fn deallocate(&mut self, h: &mut Heap, p: u32) -> Check {
        h.deallocate(p);
        self.model.deallocated(p);
        Ok(())
    }

    pub fn reallocate(&mut self, h: &mut Heap, p: u32, size: u32) -> Check {
        let q = h.reallocate(p, size);
        let what = format!("reallocate({p:#x}, {size})");
        let Some(old) = self.model.blocks.get(&p).copied() else {
            return match p {
                0 => self.adopt(h, &what, q, size, 8),
                _ => self.model.rejected_realloc(p, size, q),
            };
        };
        if q == 0 {
            ensure!(self.may_run_out(h), "{what} returned 0 though memory could grow");
            return self.model.realloc_failed(p, size);
        }
        // The kept prefix must have arrived intact (checked before anything else is written).
        let keep = old.size.min(size);
        let kept = &pattern(old.tag, old.size)[..keep as usize];
        ensure!(h.read(q, keep) == kept, "{what} -> {q:#x} did not keep the first {keep} bytes");
        Self::placed(h, q, size)?;
        // Checked: the whole block takes a new pattern, so that its tag says all it holds.
        let id = self.new_id();
        self.model.reallocated(p, q, size, id)?;
        h.write(q, &pattern(id, size));
        Ok(())
    }

    pub fn free_get_mark(&mut self, h: &mut Heap) -> Check {
        let m = h.free_get_mark();
        if m == 0 && self.model.segments.has_room() {
            ensure!(self.may_run_out(h), "free_get_mark() returned 0 at depth {}", self.depth());
        }
        self.model.mark_taken(m)
    }

    pub fn free_to_mark(&mut self, h: &mut Heap, m: u32) -> Check {
        h.free_to_mark(m);
        self.model.to_mark(m);
        Ok(())
    }

    pub fn free_all_mark(&mut self, h: &mut Heap) -> Check {
        h.free_all_mark();
        if self.model.all_mark_is_noop() {
            return Ok(());
        }
        let s = h.stats();
        let pushed = s.mark_depth as usize == self.depth() + 1;
        if !pushed {
            ensure!(self.may_run_out(h), "free_all_mark() did nothing though memory could grow");
            // The floor's record did not fit: the contract does not say whether that counts as
            // a failure; accept either.
            let failures = s.failures;
            let model = self.model.counters.failures;
            ensure!(
                failures == model || failures == model + 1,
                "free_all_mark() that could not get a record: failures {failures}, model {model}"
            );
            self.model.counters.failures = failures;
            return Ok(());
        }
        self.model.all_marked(true)
    }

    pub fn free_all(&mut self, h: &mut Heap) -> Check {
        h.free_all();
        self.model.all_freed();
        Ok(())
    }

    /// Performs `op` on the heap and the model.
    pub fn apply(&mut self, h: &mut Heap, op: &Op) -> Check {
        let nth = |n: usize| self.model.nth(n).map(|(p, _)| p);
        match *op {
            Op::Nop => Ok(()),
            Op::Alloc(size) => self.allocate(h, size),
            Op::AllocAligned(size, align) => self.allocate_aligned(h, size, align),
            Op::Free(n) => self.deallocate(h, nth(n).unwrap_or(0)),
            Op::FreeBad(bad) => self.bad_pointer(h, bad).map_or(Ok(()), |p| self.deallocate(h, p)),
            Op::Realloc(n, size) => nth(n).map_or(Ok(()), |p| self.reallocate(h, p, size)),
            Op::ReallocNull(size) => self.reallocate(h, 0, size),
            Op::ReallocBad(bad, size) => self.bad_pointer(h, bad).map_or(Ok(()), |p| self.reallocate(h, p, size)),
            Op::GetMark => self.free_get_mark(h),
            Op::ToMark(n) => {
                let marks: Vec<u32> = self.model.segments.marks().map(|(_, m)| m).collect();
                marks.get(n % marks.len().max(1)).map_or(Ok(()), |&m| self.free_to_mark(h, m))
            }
            Op::ToMarkStale(n) => self.model.segments.used_marks.back(n).map_or(Ok(()), |m| self.free_to_mark(h, m)),
            Op::ToMarkBogus(m) if self.model.segments.depth_of(m).is_some() => Ok(()),
            Op::ToMarkBogus(m) => self.free_to_mark(h, m),
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
    pub fn verify(&self, h: &mut Heap) -> Check {
        let code = h.check();
        ensure!(code == 0, "check() = {code}");
        let s = h.stats();
        self.model.check_stats(&s)?;
        check_figures(&s, h.heap_end())?;
        let end = self.model.check_spans(&[(h.scratch(), SCRATCH)])?;
        ensure!(end <= s.heap_top, "a block ends at {end:#x}, above heap_top {:#x}", s.heap_top);
        for (&p, b) in &self.model.blocks {
            ensure!(p % b.align == 0, "block {p:#x} is not aligned to {}", b.align);
            let n = h.size(p);
            ensure!(n == b.size, "size({p:#x}) = {n}, expected {}", b.size);
            let (got, want) = (h.read(p, b.size), pattern(b.tag, b.size));
            if let Some(i) = got.iter().zip(&want).position(|(x, y)| x != y) {
                let (g, w) = (got[i], want[i]);
                return Err(format!(
                    "block {p:#x} (size {}) corrupted at byte {i}: {g:#04x}, expected {w:#04x}",
                    b.size
                ));
            }
        }
        Ok(())
    }
}

/// The figures of `stats` that the model does not predict, within their bounds: the heap's
/// bytes up to `mem_size`, its top, free bytes and largest free block.
pub fn check_figures(s: &Stats, mem_size: u32) -> Check {
    let heap_bytes = mem_size - s.heap_start;
    ensure!(
        s.heap_bytes == heap_bytes,
        "heap_bytes {} != memory size {mem_size} - heap_start {}",
        s.heap_bytes,
        s.heap_start
    );
    let top_ok = s.heap_start <= s.heap_top && s.heap_top <= mem_size;
    ensure!(top_ok, "heap_top {:#x} outside [heap_start {:#x}, memory size {mem_size:#x}]", s.heap_top, s.heap_start);
    let above_top = mem_size - s.heap_top;
    let free_ok = s.free_bytes >= above_top && s.free_bytes <= s.heap_bytes;
    ensure!(free_ok, "free_bytes {} outside [space above top {above_top}, heap_bytes {}]", s.free_bytes, s.heap_bytes);
    let largest_ok = s.largest_free >= above_top && s.largest_free <= s.free_bytes;
    ensure!(
        largest_ok,
        "largest_free {} outside [space above top {above_top}, free_bytes {}]",
        s.largest_free,
        s.free_bytes
    );
    let sum = s.live_bytes as u64 + s.free_bytes as u64;
    ensure!(
        sum <= s.heap_bytes as u64,
        "live_bytes {} + free_bytes {} exceed heap_bytes {}",
        s.live_bytes,
        s.free_bytes,
        s.heap_bytes
    );
    Ok(())
}
