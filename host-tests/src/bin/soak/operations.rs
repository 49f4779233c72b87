//! The operations room: one random operation a step, chosen by weights that follow the state
//! (full, empty, marks, storm, calm), and the block calls — `allocate`, `allocate_aligned`,
//! `reallocate`, `deallocate`, `size` — each checked against the model: alignment, no overlap
//! with a live block or the stats block, inside memory, a 0 only when `memory.grow` was refused
//! or the request cannot fit, contents kept by `reallocate`.

use super::runner::{Block, Dead, R, Runner, SCRATCH, Why, ensure, note};
use host_tests::Weather;
use wasmheap_model::{MAX_DEPTH, MAX_REQUEST, rules};

impl Runner {
    // ---- choosing an operation --------------------------------------------------------------

    /// Performs one random operation. Returns whether it was a rejected call (for the snapshot
    /// comparison): `Some(true)` rejected and counted, `Some(false)` a no-op, `None` anything else.
    pub(super) fn random_op(&mut self) -> R<Option<bool>> {
        if self.regime.storm && self.step - self.regime.storm_from > 5000 {
            self.regime.storm = false;
        }
        let w = self.weights();
        let total: u32 = w.iter().sum();
        let mut pick = self.rng.below32(total);
        let mut op = 0;
        while pick >= w[op] {
            pick -= w[op];
            op += 1;
        }
        self.perform(op)
    }

    /// The weight of each operation (per 100 000) in the present state: numbered as in
    /// [`Runner::perform`].
    fn weights(&self) -> [u32; 17] {
        let depth = self.depth();
        let full = self.live.len() >= self.cfg.max_live || self.c.live_bytes >= self.cfg.budget;
        let empty = self.live.is_empty();
        let has_marks = self.segments.marks().next().is_some();
        let bad = self.cfg.bad;
        let calm = if self.regime.calm { 20 } else { 1 };
        [
            if full { 0 } else { 30_000 }, // 0 allocate
            if full { 0 } else { 4_000 },  // 1 allocate_aligned
            if empty {
                0
            } else if full {
                40_000
            } else {
                26_000
            }, // 2 deallocate
            if empty { 0 } else { 12_000 }, // 3 reallocate
            if full { 0 } else { 800 },    // 4 reallocate(0, n)
            if empty { 0 } else { 1_500 }, // 5 size
            300,                           // 6 deallocate(0)
            if bad { 6_000 } else { 0 },   // 7 bad deallocate
            if bad { 2_000 } else { 0 },   // 8 bad reallocate
            if self.regime.storm {
                60_000
            } else if depth < 8 {
                1_500 / calm
            } else if depth < 32 {
                300
            } else {
                60
            }, // 9 free_get_mark
            if has_marks && !self.regime.storm { 1_100 / calm } else { 0 }, // 10 free_to_mark
            if bad { 400 } else { 0 },     // 11 stale mark
            if bad { 400 } else { 0 },     // 12 bogus mark
            // Floors are for good: free_to_mark of a mark below one makes the mark's segment the
            // floor, so floors creep up over an instance's life (hence `instance_ops`). At
            // depth 255 free_all_mark must fail.
            if self.regime.storm {
                if depth == MAX_DEPTH { 2_000 } else { 0 }
            } else if depth < 2 || (depth < 16 && has_marks) {
                800 / calm
            } else {
                0
            }, // 13 free_all_mark
            if self.regime.storm { 0 } else { 80 / calm }, // 14 free_all
            100,                                           // 15 weather
            if self.regime.storm { 0 } else { 2 },         // 16 mark storm
        ]
    }

    /// Operation `op`, numbered as in [`Runner::weights`].
    fn perform(&mut self, op: usize) -> R<Option<bool>> {
        match op {
            0 => {
                let size = self.request();
                self.op_allocate(size, None)
            }
            1 => {
                let size = self.request();
                let align = self.alignment();
                self.op_allocate(size, Some(align))
            }
            2 => self.op_deallocate(),
            3 => self.op_reallocate(),
            4 => {
                let size = self.request();
                self.op_realloc_null(size)
            }
            5 => self.op_size(),
            6 => self.op_deallocate_null(),
            7 => self.op_bad(false),
            8 => self.op_bad(true),
            9 => self.op_get_mark(),
            10 => self.op_to_mark(),
            11 => self.op_stale_mark(),
            12 => self.op_bogus_mark(),
            13 => self.op_free_all_mark(),
            14 => self.op_free_all(),
            15 => self.op_weather(),
            _ => self.op_mark_storm(),
        }
    }

    /// `deallocate(0)` does nothing, and `size(0)` is 0.
    fn op_deallocate_null(&mut self) -> R<Option<bool>> {
        note!(self, "deallocate(0)");
        self.w.try_deallocate(0)?;
        ensure!(self.w.try_size(0)? == 0, "size(0) != 0");
        Ok(Some(false))
    }

    /// New weather for `memory.grow` (clear, flaky, frozen); now and then the calm regime
    /// toggles.
    fn op_weather(&mut self) -> R<Option<bool>> {
        let weather = match self.rng.below(100) {
            0..=74 => Weather::Clear,
            75..=89 => Weather::Flaky,
            _ => Weather::Frozen,
        };
        if self.rng.chance(1, 20) {
            self.regime.calm = !self.regime.calm;
        }
        note!(self, "weather: {weather:?}, calm {}", self.regime.calm);
        self.w.limiter_mut().weather = weather;
        Ok(None)
    }

    /// A storm of marks begins: `free_get_mark` up to depth 255 and past it (see `weights`).
    fn op_mark_storm(&mut self) -> R<Option<bool>> {
        note!(self, "mark storm: free_get_mark up to depth 255 and past it");
        self.regime.storm = true;
        self.regime.storm_refusals = 0;
        self.regime.storm_from = self.step;
        self.t.storms += 1;
        Ok(None)
    }

    /// A request size: mostly small, some medium, a few large, rarely one that must fail.
    pub(super) fn request(&mut self) -> u32 {
        let r = &mut self.rng;
        match r.below(1000) {
            0..=499 => r.below32(65),
            500..=799 => r.range(65, 512),
            800..=959 => r.range(513, 8192),
            960..=996 => r.range(8193, 65536),
            997..=998 => r.range(65537, 1 << 20),
            _ => match r.below(6) {
                0 => MAX_REQUEST,
                1 => MAX_REQUEST + 1 + r.below32(0x1_0000),
                2 => u32::MAX - r.below32(16),
                3 => 0x8000_0000,
                4 => r.range(1 << 30, MAX_REQUEST),
                _ => self.cfg.cap as u32 + 1 + r.below32(1 << 20),
            },
        }
    }

    /// An alignment for `allocate_aligned`: a power of two up to 65536, sometimes a bad one.
    fn alignment(&mut self) -> u32 {
        let r = &mut self.rng;
        if self.cfg.bad && r.chance(1, 16) {
            return match r.below(5) {
                0 => 0,
                1 => 3 + 2 * r.below32(1000),
                2 => 1 << 17 << r.below32(15),
                3 => u32::MAX,
                _ => (1 << r.below32(16)) | (1 << r.range(16, 31)),
            };
        }
        match r.below(10) {
            0..=5 => 1 << r.below32(7),
            6..=8 => 1 << r.range(7, 12),
            _ => 1 << r.range(13, 16),
        }
    }

    /// A returned 0 for a valid request of `size` bytes: allowed when the request cannot fit
    /// under the cap, or when `memory.grow` was refused during the call.
    pub(super) fn failure_allowed(&mut self, what: &str, size: u32) -> R<()> {
        if size as u64 + 2 * 65536 > self.cfg.cap as u64 || !self.cfg.must_grow || self.w.refused_in_call() > 0 {
            return Ok(());
        }
        Err(format!("{what} returned 0 though memory.grow was not refused"))
    }

    // ---- blocks -----------------------------------------------------------------------------

    /// Fills the block just handed out at `q` and records it live in segment `seg`: the model's
    /// tables, the per-segment count, live bytes, and the list of blocks to check next.
    pub(super) fn track(&mut self, q: u32, size: u32, align: u32, seg: u16, what: impl FnOnce() -> String) {
        let id = self.fill(q, size);
        self.watch(q, what);
        let tag = self.word_before(q);
        self.index.insert(q, self.live.len());
        self.live.push(Block { ptr: q, size, align, seg, id, tag });
        self.seg_live[seg as usize] += 1;
        self.fresh.push(q);
    }

    /// Takes `q`, just returned for a request of `size` bytes aligned to `align`, as a new block
    /// of the newest segment, and fills it.
    fn adopt(&mut self, what: &str, q: u32, size: u32, align: u32) -> R<()> {
        ensure!(q % align == 0, "{what} returned {q:#x}, not aligned to {align}");
        ensure!(q >= self.heap_start + 8, "{what} returned {q:#x}, below the heap (starts at {:#x})", self.heap_start);
        ensure!(
            q as u64 + size as u64 <= self.w.mem_size() as u64,
            "{what} returned {q:#x}: the block ends past the end of memory {:#x}",
            self.w.mem_size()
        );
        ensure!(!self.index.contains_key(&q), "{what} returned {q:#x}, a live block");
        if self.own() {
            let s = self.out;
            ensure!(
                q as u64 + size.max(1) as u64 <= s as u64 || q >= s + SCRATCH,
                "{what} returned {q:#x}, overlapping the live stats block {s:#x}"
            );
        }
        let seg = self.depth() as u16;
        self.track(q, size, align, seg, || format!("{what}: live, size {size}, segment {seg}"));
        self.c.allocated(size);
        Ok(())
    }

    /// Removes live block `i` from the model (the caller counts it: freed, released, moved).
    pub(super) fn remove(&mut self, i: usize, why: Option<Why>) -> Block {
        let b = self.live.swap_remove(i);
        self.index.remove(&b.ptr);
        if i < self.live.len() {
            self.index.insert(self.live[i].ptr, i);
        }
        self.seg_live[b.seg as usize] -= 1;
        if let Some(why) = why {
            let generation = self.generations[b.seg as usize];
            self.dead.push(Dead { was: b, why, generation });
        }
        self.watch(b.ptr, || format!("dead ({why:?}), was size {}, segment {}", b.size, b.seg));
        b
    }

    /// `allocate(size)`, or `allocate_aligned(size, align)` (a bad alignment must fail).
    fn op_allocate(&mut self, size: u32, align: Option<u32>) -> R<Option<bool>> {
        if size as u64 + self.c.live_bytes > self.cfg.budget
            && size as u64 <= self.cfg.cap as u64
            && !self.live.is_empty()
        {
            return self.op_deallocate();
        }
        let (q, what) = match align {
            None => (self.w.try_allocate(size)?, format!("allocate({size:#x})")),
            Some(a) => (self.w.try_allocate_aligned(size, a)?, format!("allocate_aligned({size:#x}, {a:#x})")),
        };
        note!(self, "{what} -> {q:#x}");
        if let Some(a) = align
            && !rules::valid_align(a)
        {
            ensure!(q == 0, "{what} with a bad alignment returned {q:#x}");
            self.c.failures += 1;
            return Ok(Some(true));
        }
        self.new_block(&what, q, size, align.unwrap_or(8).max(8))
    }

    /// `reallocate(0, size)`: an allocation.
    fn op_realloc_null(&mut self, size: u32) -> R<Option<bool>> {
        let q = self.w.try_reallocate(0, size)?;
        let what = format!("reallocate(0, {size:#x})");
        note!(self, "{what} -> {q:#x}");
        self.new_block(&what, q, size, 8)
    }

    /// What an allocation `what` of `size` bytes aligned to `align` returned: 0, a failure that
    /// must be allowed, or a new block, adopted.
    fn new_block(&mut self, what: &str, q: u32, size: u32, align: u32) -> R<Option<bool>> {
        if q == 0 {
            self.failure_allowed(what, size)?;
            self.c.failures += 1;
            return Ok(Some(true));
        }
        ensure!(size as u64 <= self.cfg.cap as u64, "{what} returned {q:#x}, more than the memory cap");
        self.adopt(what, q, size, align)?;
        Ok(None)
    }

    /// `deallocate` of a random live block, its contents checked first.
    pub(super) fn op_deallocate(&mut self) -> R<Option<bool>> {
        if self.live.is_empty() {
            return Ok(None);
        }
        let i = self.rng.below(self.live.len() as u64) as usize;
        let b = self.live[i];
        self.pattern_check(&b, b.size)?;
        note!(self, "deallocate({:#x}) [size {}, segment {}]", b.ptr, b.size, b.seg);
        self.w.try_deallocate(b.ptr)?;
        self.remove(i, Some(Why::Freed));
        self.c.freed(b.size);
        Ok(None)
    }

    /// `size` of a random live block: the size it was allocated with.
    fn op_size(&mut self) -> R<Option<bool>> {
        let i = self.rng.below(self.live.len() as u64) as usize;
        let b = self.live[i];
        let n = self.w.try_size(b.ptr)?;
        note!(self, "size({:#x}) -> {n}", b.ptr);
        ensure!(n == b.size, "size({:#x}) = {n}, the block was allocated with {}", b.ptr, b.size);
        Ok(Some(false))
    }

    /// `reallocate` of a random live block to a random size; the first min(old, new) bytes
    /// must arrive intact, in place or moved.
    fn op_reallocate(&mut self) -> R<Option<bool>> {
        let i = self.rng.below(self.live.len() as u64) as usize;
        let b = self.live[i];
        let size = self.realloc_size(b.size);
        if size > b.size
            && (size - b.size) as u64 + self.c.live_bytes > self.cfg.budget
            && size as u64 <= self.cfg.cap as u64
        {
            return self.op_deallocate();
        }
        self.pattern_check(&b, b.size)?;
        let what =
            format!("reallocate({:#x}, {size:#x}) [size {}, segment {}, depth {}]", b.ptr, b.size, b.seg, self.depth());
        let q = self.w.try_reallocate(b.ptr, size)?;
        let fuel = self.w.last_fuel;
        note!(self, "{what} -> {q:#x}");
        if q == 0 {
            ensure!(size > b.size, "{what} returned 0, but shrinking never fails");
            self.failure_allowed(&what, size)?;
            self.c.failures += 1;
            // On failure the old block is untouched.
            return self.pattern_check(&b, b.size).map(|()| Some(true));
        }
        ensure!(size as u64 <= self.cfg.cap as u64, "{what} returned {q:#x}, more than the memory cap");
        if size <= b.size {
            ensure!(q == b.ptr, "{what} moved to {q:#x}, but shrinking stays in place");
        }
        let keep = b.size.min(size);
        if q != b.ptr {
            self.check_moved(&what, q, size)?;
            self.moved_fuel(fuel, b.ptr, size, keep);
        } else {
            self.t.fuel_realloc_in_place.add(fuel, self.step, [b.ptr, size]);
        }
        self.replace_block(&what, i, q, size, keep)
    }

    /// The new size for `reallocate` of a block of `old` bytes: zero, smaller, a little larger,
    /// the same, or any request.
    fn realloc_size(&mut self, old: u32) -> u32 {
        match self.rng.below(8) {
            0 => 0,
            1 => self.rng.below32(old + 1),
            2 => old.saturating_add(self.rng.below32(64)),
            3 => old,
            _ => self.request(),
        }
    }

    /// A block moved to `q` by `what` (`size` bytes) must be aligned, clear of live blocks and of
    /// the stats block, and inside memory.
    fn check_moved(&mut self, what: &str, q: u32, size: u32) -> R<()> {
        ensure!(q.is_multiple_of(8), "{what} moved to a misaligned {q:#x}");
        ensure!(!self.index.contains_key(&q), "{what} moved onto live block {q:#x}");
        ensure!(
            q as u64 + size as u64 <= self.w.mem_size() as u64,
            "{what} moved to {q:#x}: the block ends past the end of memory"
        );
        if self.own() {
            let s = self.out;
            ensure!(q as u64 + size.max(1) as u64 <= s as u64 || q >= s + SCRATCH, "{what} moved onto the stats block");
        }
        Ok(())
    }

    /// Records the fuel of a move of `ptr` to a new block of `size` bytes that copied `keep`.
    fn moved_fuel(&mut self, fuel: u64, ptr: u32, size: u32, keep: u32) {
        self.t.fuel_realloc_moved.add(fuel, self.step, [ptr, size]);
        if fuel == self.t.fuel_realloc_moved.max {
            self.t.realloc_moved_max_copy = keep;
        }
        // wasmtime charges memory.copy by the byte: the rest is the call's own cost.
        self.t.fuel_realloc_moved_net.add(fuel.saturating_sub(keep as u64), self.step, [ptr, size]);
        self.t.realloc_moved += 1;
    }

    /// Live block `i`, reallocated by `what` to `q` with `size` bytes, keeps its first `keep`
    /// bytes; the model takes the new block in its place (in the newest segment if it moved).
    fn replace_block(&mut self, what: &str, i: usize, q: u32, size: u32, keep: u32) -> R<Option<bool>> {
        let b = self.live[i];
        let moved = q != b.ptr;
        // The first min(old, new) bytes arrived intact.
        let kept = Block { ptr: q, ..b };
        self.pattern_check(&kept, keep).map_err(|e| format!("{what} -> {q:#x} did not keep the contents: {e}"))?;
        self.remove(i, moved.then_some(Why::Moved));
        let seg = if moved { self.depth() as u16 } else { b.seg };
        let align = if moved { 8 } else { b.align };
        self.track(q, size, align, seg, || format!("{what} -> {q:#x}: live, size {size}, segment {seg}"));
        self.c.reallocated(b.size, size);
        self.fresh.push(b.ptr);
        Ok(None)
    }
}
