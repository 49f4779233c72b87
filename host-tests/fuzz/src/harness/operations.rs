//! The operations: each performed on the heap and predicted by the model, the outcome checked.

use wasmheap::MAX_DEPTH;
use wasmheap::block::{HEADER, block_size};
use wasmheap::{CONTROL_SIZE, Stats};

use super::{Block, Expect, Fill, Harness, Segment};
use crate::{Limit, Op};

impl Harness {
    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Alloc { size, write } => self.allocate(size.value(), None, write),
            Op::AllocAligned { size, align, write } => self.allocate(size.value(), Some(align.value()), write),
            Op::AllocMany { count, size, write } => {
                for _ in 0..count % 33 {
                    self.allocate(size.value(), None, write);
                }
            }
            Op::Dealloc(ptr) => self.deallocate(self.resolve(ptr)),
            Op::Realloc { ptr, size, write } => self.reallocate(self.resolve(ptr), size.value(), write),
            Op::Size(ptr) => {
                let p = self.resolve(ptr);
                let expect = self.live.get(&p).map_or(0, |b| b.size);
                assert_eq!(self.heap().size(p), expect, "step {}: size({p:#x})", self.step);
            }
            Op::Write { block, seed } => {
                if let Some((p, b)) = self.nth_live(block) {
                    self.fill(p, b.size, seed);
                    let b = self.live.get_mut(&p).unwrap();
                    b.tag = Fill { seed, filled: b.size };
                }
            }
            Op::GetMark => self.get_mark(),
            Op::GetMarks(n) => {
                for _ in 0..n % 65 {
                    self.get_mark();
                }
            }
            Op::ToMark(mark) => self.free_to_mark(self.resolve_mark(mark)),
            Op::FreeAllMark => self.free_all_mark(),
            Op::FreeAll => self.free_all(),
            Op::Limit(limit) => {
                let s = self.stats();
                self.limit = match limit {
                    Limit::Freeze => s.heap_start + s.heap_bytes,
                    Limit::Pages(n) => (n as u32 * 65536).min(self.buffer_len),
                    Limit::Bytes(n) => n % (self.buffer_len + 1),
                    Limit::Restore => self.buffer_len,
                };
            }
            Op::Reinit(more) => {
                // as the module does on every call: the end of memory, which never shrinks
                let before = self.stats();
                let end = (before.heap_start + before.heap_bytes).saturating_add(more as u32).min(self.buffer_len);
                assert!(self.heap().ensure_init(end), "step {}: ensure_init on a live heap", self.step);
                assert_eq!(self.stats(), before, "step {}: ensure_init changed an initialised heap", self.step);
            }
        }
    }

    pub(crate) fn allocate(&mut self, request: u32, align: Option<u32>, write: bool) {
        let s = self.stats();
        let expect = self.expect_allocation(&s, request, align.unwrap_or(HEADER));
        let p = match align {
            None => self.heap().allocate(request),
            Some(a) => self.heap().allocate_aligned(request, a),
        };
        self.after_allocation(p, request, align.unwrap_or(HEADER), expect, write);
    }

    pub(crate) fn after_allocation(&mut self, p: u32, request: u32, align: u32, expect: Expect, write: bool) {
        if p == 0 {
            assert_ne!(
                expect,
                Expect::Succeed,
                "step {}: allocation of {request} (align {align}) failed but fits",
                self.step
            );
            self.counters.failures += 1;
            return;
        }
        assert_ne!(
            expect,
            Expect::Fail,
            "step {}: allocation of {request} (align {align}) cannot succeed: {p:#x}",
            self.step
        );
        self.counters.allocated(request);
        self.place_new(p, request, align, write);
    }

    /// Records a block the heap just handed out (in the newest segment) and writes it.
    pub(crate) fn place_new(&mut self, p: u32, request: u32, align: u32, write: bool) {
        let step = self.step;
        assert!(p.is_multiple_of(align.max(HEADER)), "step {step}: {p:#x} not aligned to {align}");
        assert!(
            p as u64 + request as u64 <= self.stats().heap_top as u64,
            "step {step}: {p:#x}+{request} past the top"
        );
        let (seed, filled) = self.write_new(p, request, write);
        let depth = self.depth();
        self.add_live(p, Block { size: request, align, seg: depth as usize, tag: Fill { seed, filled } });
    }

    pub(crate) fn deallocate(&mut self, p: u32) {
        let was_live = self.live.contains_key(&p);
        self.heap().deallocate(p);
        if p == 0 {
            return;
        }
        if was_live {
            let b = self.remove_live(p);
            self.counters.freed(b.size);
            assert_eq!(self.heap().size(p), 0, "step {}: {p:#x} still live after deallocate", self.step);
        } else {
            self.counters.rejected_frees += 1;
            self.note_dead(p);
        }
    }

    pub(crate) fn reallocate(&mut self, p: u32, request: u32, write: bool) {
        if p == 0 {
            let s = self.stats();
            let expect = self.expect_allocation(&s, request, HEADER);
            let q = self.heap().reallocate(0, request);
            self.after_allocation(q, request, HEADER, expect, write);
            return;
        }
        let Some(&old) = self.live.get(&p) else {
            let q = self.heap().reallocate(p, request);
            assert_eq!(q, 0, "step {}: reallocate({p:#x}) of a pointer that is not live", self.step);
            self.counters.rejected_frees += 1;
            self.note_dead(p);
            return;
        };
        let s = self.stats();
        let expect = match block_size(request) {
            None => Expect::Fail,
            Some(size) if size <= block_size(old.size).unwrap() => Expect::Succeed,
            Some(size) if self.fits(&s, s.heap_top as u64 + size as u64) => Expect::Succeed,
            Some(_) => Expect::Either,
        };
        let q = self.heap().reallocate(p, request);
        let step = self.step;
        if q == 0 {
            assert_ne!(expect, Expect::Succeed, "step {step}: reallocate({p:#x}, {request}) failed but fits");
            self.counters.failures += 1;
            return; // the block must be untouched: the checks after the step see to it
        }
        assert_ne!(expect, Expect::Fail, "step {step}: reallocate({p:#x}, {request}) cannot succeed: {q:#x}");
        self.counters.reallocated(old.size, request);
        let kept = old.tag.filled.min(request);
        self.live.remove(&p);
        if q != p {
            self.note_dead(p);
        }
        let seg = if q == p { old.seg } else { self.depth() as usize };
        assert!(q.is_multiple_of(HEADER), "step {step}: reallocate gave a misaligned {q:#x}");
        assert!(
            q as u64 + request as u64 <= self.stats().heap_top as u64,
            "step {step}: {q:#x}+{request} past the top"
        );
        let kept_block = Block { size: request, align: HEADER, seg, tag: Fill { seed: old.tag.seed, filled: kept } };
        self.check_bytes(q, &kept_block, 0, kept);
        let block = if write {
            let (seed, filled) = self.write_new(q, request, true);
            Block { tag: Fill { seed, filled }, ..kept_block }
        } else {
            kept_block
        };
        self.add_live(q, block);
    }

    /// Expected outcome of pushing a segment (a mark or a floor).
    pub(crate) fn can_push(&self, s: &Stats) -> bool {
        self.depth() < MAX_DEPTH && self.fits(s, s.heap_top as u64 + CONTROL_SIZE as u64)
    }

    pub(crate) fn push(&mut self, control: u32) {
        self.clock += 1;
        self.segments.push(Segment { id: self.clock, control });
    }

    pub(crate) fn get_mark(&mut self) {
        let s = self.stats();
        let (expect, control) = (self.can_push(&s), s.heap_top);
        let m = self.heap().free_get_mark();
        if !expect {
            assert_eq!(m, 0, "step {}: free_get_mark at depth {} beyond what the pool gives", self.step, self.depth());
            self.counters.failures += 1;
            return;
        }
        self.push(control);
        assert_eq!(m, self.token(self.depth()), "step {}: free_get_mark token", self.step);
        self.note_token(m);
    }

    pub(crate) fn free_to_mark(&mut self, m: u32) {
        let d = m & 0xFF;
        let valid = d != 0 && d <= self.depth() && self.token(d) == m;
        self.heap().free_to_mark(m);
        if !valid {
            self.counters.rejected_marks += 1;
            return;
        }
        if d > self.floor {
            self.segments.truncate(d as usize);
            self.drop_blocks_from(d);
        } else {
            // the floor comes down to the mark's segment, emptied
            self.segments.truncate(d as usize + 1);
            self.empty_newest();
            self.floor = d;
        }
    }

    pub(crate) fn empty_newest(&mut self) {
        self.drop_blocks_from(self.depth());
        self.clock += 1;
        self.segments.last_mut().unwrap().id = self.clock;
    }

    pub(crate) fn free_all(&mut self) {
        self.heap().free_all();
        self.segments.truncate(self.floor as usize + 1);
        self.empty_newest();
    }

    pub(crate) fn free_all_mark(&mut self) {
        let newest_is_empty_floor =
            self.depth() == self.floor && self.live.values().all(|b| b.seg != self.depth() as usize);
        let s = self.stats();
        let (expect, control) = (self.can_push(&s), s.heap_top);
        self.heap().free_all_mark();
        if newest_is_empty_floor {
            return;
        }
        if expect {
            self.push(control);
            self.floor = self.depth();
        } else {
            self.counters.failures += 1;
        }
    }
}
