//! The marks room: `free_get_mark`, `free_to_mark`, `free_all_mark` and `free_all` against the
//! model's stack of segments (base, marks with their tokens, floors): a new mark is not one in
//! force, depth 255 is the limit, the blocks a release drops held their patterns to the end and
//! are dead after it, floors come and go as the heap says; stale and bogus marks (released ones,
//! guessed ids, wrong depths) are rejected and counted.

use super::runner::{Block, Dead, R, Runner, SCRATCH, Why, ensure, note};
use wasmheap_model::MAX_DEPTH;

impl Runner {
    /// The marks in force, with their depths.
    pub(super) fn marks(&self) -> impl DoubleEndedIterator<Item = (usize, u32)> + '_ {
        self.segments.marks()
    }

    /// Whether `m` is a mark in force.
    fn in_force(&self, m: u32) -> bool {
        self.segments.depth_of(m).is_some()
    }

    /// `free_get_mark()`: a new mark on top, or 0 at depth 255 or out of memory.
    pub(super) fn op_get_mark(&mut self) -> R<Option<bool>> {
        let depth = self.depth();
        let m = self.w.try_free_get_mark()?;
        note!(self, "free_get_mark() -> {m:#x} [depth {depth}]");
        if depth >= MAX_DEPTH {
            ensure!(m == 0, "free_get_mark() at depth {depth} returned {m:#x}, not 0");
            return Ok(self.mark_refused());
        }
        if m == 0 {
            self.failure_allowed("free_get_mark()", 0)?;
            // Out of memory: a storm that cannot reach depth 255 gives up.
            return Ok(self.mark_refused());
        }
        ensure!(!self.in_force(m), "free_get_mark() returned {m:#x}, a mark already in force");
        self.segments.push_mark(m);
        self.sync_segments(self.depth());
        self.clock_bound += 1;
        Ok(None)
    }

    /// `free_get_mark()` returned 0, as it should: a failure; a storm ends at its second.
    fn mark_refused(&mut self) -> Option<bool> {
        self.c.failures += 1;
        if self.regime.storm {
            self.regime.storm_refusals += 1;
            self.regime.storm = self.regime.storm_refusals < 2;
        }
        Some(true)
    }

    /// Checks the contents of every block in segments `d..` (about to be released).
    fn check_segments_from(&mut self, d: usize) -> R<()> {
        if self.seg_live[d..].iter().all(|&n| n == 0) {
            return Ok(());
        }
        for i in 0..self.live.len() {
            let b = self.live[i];
            if b.seg as usize >= d {
                self.pattern_check(&b, b.size)?;
            }
        }
        Ok(())
    }

    /// Drops the blocks of the segments that `in_released` names from the model.
    fn release_blocks(&mut self, in_released: impl Fn(usize) -> bool) {
        let mut i = 0;
        while i < self.live.len() {
            if in_released(self.live[i].seg as usize) {
                let b = self.remove(i, Some(Why::Released));
                self.c.released(b.size);
            } else {
                i += 1;
            }
        }
    }

    /// `free_to_mark` of a mark in force (the newest, or any): its segment and all above are
    /// dropped, with their blocks.
    pub(super) fn op_to_mark(&mut self) -> R<Option<bool>> {
        let marks: Vec<(usize, u32)> = self.marks().collect();
        let (d, m) = if self.rng.chance(1, 2) {
            *marks.last().unwrap()
        } else {
            marks[self.rng.below(marks.len() as u64) as usize]
        };
        self.check_segments_from(d)?;
        let dropped = self.depth() + 1 - d;
        note!(self, "free_to_mark({m:#x}) [mark at depth {d} of {}, floor {}]", self.depth(), self.floor());
        self.w.try_free_to_mark(m)?;
        if let Some(p) = self.cfg.watch {
            self.watch(p, || format!("(free_to_mark({m:#x}) at depth {d})"));
        }
        self.t.to_marks += 1;
        self.release_fuel(0, dropped);
        self.release_blocks(|seg| seg >= d);
        // When the floor comes down with it, an empty floor segment at d (wasmheap_model).
        self.segments.to_mark(d);
        self.sync_segments(d);
        self.clock_bound += 1;
        Ok(None)
    }

    /// Records the fuel of the `free_to_mark` (`which` 0) or `free_all` (1) just made, which
    /// dropped or emptied `segments` segments.
    fn release_fuel(&mut self, which: usize, segments: usize) {
        let fuel = self.w.last_fuel;
        let r = &mut self.t.release[which];
        if fuel > r.max {
            r.max = fuel;
            r.segments_at_max = segments as u32;
        }
        r.max_per_segment = r.max_per_segment.max(fuel.div_ceil(segments as u64));
        r.max_segments = r.max_segments.max(segments as u32);
    }

    /// `free_to_mark` of a mark released before.
    pub(super) fn op_stale_mark(&mut self) -> R<Option<bool>> {
        let Some(m) = self.segments.used_marks.pick(&mut self.rng) else {
            return Ok(None);
        };
        self.reject_mark(m, "stale")
    }

    /// `free_to_mark(m)` with a mark that must be rejected; none if `m` happens to be in force.
    fn reject_mark(&mut self, m: u32, why: &str) -> R<Option<bool>> {
        if self.in_force(m) {
            return Ok(None);
        }
        note!(self, "free_to_mark({m:#x}) [{why}]");
        self.w.try_free_to_mark(m)?;
        self.c.rejected_marks += 1;
        Ok(Some(true))
    }

    /// `free_to_mark` of a guessed token: 0, random, an id the clock cannot have reached, a real
    /// id with another depth, depth 0 or 255.
    pub(super) fn op_bogus_mark(&mut self) -> R<Option<bool>> {
        let depth = self.depth() as u32;
        // Ids the heap's clock cannot have reached: a guessed token never names a real segment.
        ensure!(self.clock_bound < 0xC0_0000, "the clock may have reached the bogus ids");
        let r = &mut self.rng;
        let m = match r.below(6) {
            0 => 0,
            1 => r.u32(),
            2 => r.range(0xC0_0000, 0xFF_FFFF) << 8 | r.range(1, depth.max(1)),
            3 => match self.segments.marks().next_back().map(|(_, m)| m) {
                // A real mark's id with another depth.
                Some(m) => m & !0xFF | r.range(1, 255),
                None => r.u32() & !0xFF,
            },
            4 => r.u32() & !0xFF, // depth 0: the base has no token
            _ => r.u32() | 0xFF,  // depth 255
        };
        self.reject_mark(m, "bogus")
    }

    /// `free_all_mark()`: a new floor on top, nothing on an empty floor, a failure at depth 255
    /// or when memory could not grow.
    pub(super) fn op_free_all_mark(&mut self) -> R<Option<bool>> {
        let depth = self.depth();
        let empty_floor = depth == self.floor() && self.seg_live[depth] == 0;
        self.w.try_free_all_mark()?;
        let refused = self.w.refused_in_call();
        self.stats_in_op = true;
        let s = self.stats()?;
        note!(self, "free_all_mark() [depth {depth}, floor {}] -> depth {}", self.floor(), s.mark_depth);
        if empty_floor {
            ensure!(
                s.mark_depth as usize == depth,
                "free_all_mark() on an empty floor changed the depth to {}",
                s.mark_depth
            );
            return Ok(None);
        }
        if s.mark_depth as usize == depth + 1 {
            ensure!(depth < MAX_DEPTH, "free_all_mark() went past depth 255");
            self.segments.push_floor();
            self.sync_segments(depth + 1);
            self.clock_bound += 1;
        } else {
            ensure!(s.mark_depth as usize == depth, "free_all_mark() at depth {depth} left depth {}", s.mark_depth);
            ensure!(
                depth >= MAX_DEPTH || refused > 0 || !self.cfg.must_grow,
                "free_all_mark() at depth {depth} did nothing, though memory could grow"
            );
            self.c.failures += 1;
        }
        Ok(None)
    }

    /// `free_all()`: the segments above the floor are dropped and the floor is emptied (at the
    /// base, with the stats block, which is allocated again).
    pub(super) fn op_free_all(&mut self) -> R<Option<bool>> {
        let f = self.floor();
        self.check_segments_from(f)?;
        let dropped = self.depth() + 1 - f;
        note!(self, "free_all() [depth {}, floor {f}]", self.depth());
        self.w.try_free_all()?;
        if let Some(p) = self.cfg.watch {
            self.watch(p, || "(free_all())".into());
        }
        self.t.free_alls += 1;
        self.release_fuel(1, dropped);
        self.release_blocks(|seg| seg > f);
        self.release_blocks(|seg| seg == f);
        self.segments.free_all();
        self.sync_segments(f + 1);
        // The floor segment is emptied: a new instance (new epoch).
        self.generations[f] = self.next_generation;
        self.next_generation += 1;
        self.clock_bound += 1;
        if f == 0 && self.own() {
            // The stats block was in the floor segment: gone.
            self.seg_live[0] -= 1;
            self.c.released(SCRATCH);
            let generation = self.generations[0];
            let was = Block { ptr: self.out, size: SCRATCH, align: 8, seg: 0, id: 0, tag: 0 };
            self.dead.push(Dead { was, why: Why::Released, generation });
            self.alloc_scratch()?;
            self.fresh.push(self.out);
        }
        ensure!(self.seg_live[f] == (f == 0 && self.own()) as u32, "model: blocks left in the floor");
        Ok(None)
    }
}
