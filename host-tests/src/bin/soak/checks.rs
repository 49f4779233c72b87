//! The checks room: the heap as a whole against the model, every `--check-every` steps —
//! `check() == 0`, every counter of `stats`, the bounds of the heap's figures, the host's part of
//! an imported memory, a sample of blocks' `size()` and contents (all of them, and their spans,
//! in a full check) — and the memory snapshots around every `--snapshot-every`th step: a rejected
//! call may change one word (its counter, +1) and nothing else; any other call may not write
//! inside a live block (its whole capacity) other than the one it returns or frees.

use super::runner::{HOST_OUT, R, Runner, SCRATCH, ensure};
use host_tests::{Export, Layout, Stats};
use wasmheap_model::Counters;

/// A word that a step changed: its offset, the word before and the word after.
type Diff = (u32, u32, u32);

impl Runner {
    // ---- snapshots --------------------------------------------------------------------------

    /// Compares memory after the step with `before`. A rejected call may change one word, by +1
    /// (its counter); a no-op nothing; any call nothing inside a live block's capacity.
    pub(super) fn compare(&mut self, before: &[u8], rejected: Option<bool>) -> R<()> {
        let mut diffs = self.changed_words(before);
        if let Layout::Imported { start } = self.w.layout {
            self.host_untouched(&diffs, start)?;
            // The module's shadow stack, from `start` to the heap: its own to write.
            let stack = start..self.heap_start;
            diffs.retain(|d| !stack.contains(&d.0));
        }
        if let Some(rejected) = rejected {
            return only_counter(&diffs, rejected);
        }
        if diffs.is_empty() {
            return Ok(());
        }
        self.live_untouched(&diffs)
    }

    /// The words of memory that differ from `before` (own memory: from the heap's start; below
    /// it are the module's stack and statics).
    fn changed_words(&self, before: &[u8]) -> Vec<Diff> {
        let after = self.w.mem();
        let from = match self.w.layout {
            Layout::Own => self.heap_start as usize, // below: the module's stack and statics
            Layout::Imported { .. } => 0,
        };
        let n = before.len().min(after.len());
        let mut diffs: Vec<Diff> = Vec::new();
        let word = |m: &[u8], i: usize| u32::from_le_bytes(m[i..i + 4].try_into().unwrap());
        let mut at = from;
        while at < n {
            let end = (at + 4096).min(n);
            if before[at..end] != after[at..end] {
                for i in (at..end).step_by(4) {
                    if before[i..i + 4] != after[i..i + 4] {
                        diffs.push((i as u32, word(before, i), word(after, i)));
                    }
                }
            }
            at = end;
        }
        diffs
    }

    /// Imported memory: no change below the heap's region (`start`) but the 64 bytes `stats`
    /// writes.
    fn host_untouched(&self, diffs: &[Diff], start: u32) -> R<()> {
        let out = self.out as usize..self.out as usize + 64;
        if let Some(&(o, x, y)) =
            diffs.iter().find(|d| (d.0 as usize) < start as usize && !out.contains(&(d.0 as usize)))
        {
            return Err(format!(
                "the step wrote the host's memory below the heap's region at {o:#x}: {x:#010x} -> {y:#010x}"
            ));
        }
        Ok(())
    }

    /// No change inside a live block's capacity (at least max(8, size rounded up to 8)), other
    /// than the blocks the step returned, nor in the stats block unless the step called `stats`.
    fn live_untouched(&self, diffs: &[Diff]) -> R<()> {
        let mut ranges: Vec<(u32, u32)> = self
            .live
            .iter()
            .filter(|b| !self.fresh.contains(&b.ptr))
            .map(|b| (b.ptr, b.ptr + ((b.size + 7) & !7).max(8)))
            .collect();
        if self.own() && !self.stats_in_op && !self.fresh.contains(&self.out) {
            ranges.push((self.out, self.out + SCRATCH));
        }
        ranges.sort_unstable();
        for &(o, x, y) in diffs {
            let k = ranges.partition_point(|r| r.0 <= o);
            if k > 0 && o < ranges[k - 1].1 {
                let (p, _) = ranges[k - 1];
                return Err(format!(
                    "the step wrote inside live block {p:#x} at offset {}: {x:#010x} -> {y:#010x}",
                    o - p
                ));
            }
        }
        Ok(())
    }

    // ---- the heap as a whole ----------------------------------------------------------------

    /// The heap as a whole against the model; `full`: every block, and their spans.
    pub(super) fn verify(&mut self, full: bool) -> R<()> {
        self.check_call()?;
        let s = self.stats()?;
        self.check_counters(&s)?;
        self.check_memory(&s)?;
        self.check_bounds(&s)?;
        self.check_host_memory()?;
        self.check_blocks(full)?;
        if full {
            self.check_spans(&s)?;
            self.t.full_checks += 1;
        }
        self.t.checks += 1;
        Ok(())
    }

    /// `check()` finds nothing wrong (and its costliest call is noted with the live blocks).
    fn check_call(&mut self) -> R<()> {
        let code = self.w.try_check()?;
        let check_fuel = self.w.last_fuel;
        ensure!(code == 0, "check() = {code}");
        if check_fuel == self.w.fuel[Export::Check as usize].max {
            self.t.fuel_check_max_blocks = self.live.len() as u64;
        }
        Ok(())
    }

    /// Every counter of `stats` is the model's, and `heap_start` has not moved.
    fn check_counters(&self, s: &Stats) -> R<()> {
        let tracked = self.live.len() + self.own() as usize;
        ensure!(self.c.live_blocks as usize == tracked, "model: {tracked} blocks, counted {}", self.c.live_blocks);
        self.c.compare(&Counters::of(s), self.exact_peak)?;
        let depth = self.depth();
        ensure!(s.mark_depth as usize == depth, "stats.mark_depth = {}, the model says {depth}", s.mark_depth);
        ensure!(s.heap_start == self.heap_start, "heap_start moved from {:#x} to {:#x}", self.heap_start, s.heap_start);
        Ok(())
    }

    /// `heap_bytes` and `memory_grows` against memory and the limiter: equal for a heap that
    /// owns its memory and grows it, at most for a region or a fixed pool.
    fn check_memory(&mut self, s: &Stats) -> R<()> {
        let mem = self.w.mem_size();
        let granted = self.w.limiter().granted;
        match self.w.layout {
            // A fixed pool (the static flavor) manages part of memory and never grows it: the
            // checks of the imported region below hold for it.
            Layout::Own if self.cfg.must_grow => {
                ensure!(
                    s.heap_bytes == mem - s.heap_start,
                    "heap_bytes {} != memory size {mem} - heap_start {}",
                    s.heap_bytes,
                    s.heap_start
                );
                ensure!(s.memory_grows == granted, "memory_grows {} but the limiter granted {granted}", s.memory_grows);
            }
            Layout::Own | Layout::Imported { .. } => {
                ensure!(s.heap_bytes <= mem - s.heap_start, "heap_bytes {} past the end of memory", s.heap_bytes);
                ensure!(s.memory_grows <= granted, "memory_grows {} but the limiter granted {granted}", s.memory_grows);
            }
        }
        Ok(())
    }

    /// `heap_top`, `free_bytes`, `largest_free` and `live_bytes` within the heap's bounds.
    fn check_bounds(&self, s: &Stats) -> R<()> {
        let end = s.heap_start as u64 + s.heap_bytes as u64;
        ensure!(
            s.heap_start <= s.heap_top && s.heap_top as u64 <= end,
            "heap_top {:#x} outside [heap_start {:#x}, end {end:#x}]",
            s.heap_top,
            s.heap_start
        );
        let above = end - s.heap_top as u64;
        ensure!(
            s.free_bytes as u64 >= above && s.free_bytes <= s.heap_bytes,
            "free_bytes {} outside [space above the top {above}, heap_bytes {}]",
            s.free_bytes,
            s.heap_bytes
        );
        ensure!(
            s.largest_free as u64 >= above && s.largest_free <= s.free_bytes,
            "largest_free {} outside [space above the top {above}, free_bytes {}]",
            s.largest_free,
            s.free_bytes
        );
        ensure!(
            s.live_bytes as u64 + s.free_bytes as u64 <= s.heap_bytes as u64,
            "live_bytes {} + free_bytes {} > heap_bytes {}",
            s.live_bytes,
            s.free_bytes,
            s.heap_bytes
        );
        Ok(())
    }

    /// Imported memory: the host's part below the heap's region still holds its sentinel, but
    /// for the 64 bytes `stats` writes at `HOST_OUT`.
    fn check_host_memory(&self) -> R<()> {
        if let Layout::Imported { start } = self.w.layout {
            let mem = self.w.mem();
            for (i, (now, was)) in mem[..start as usize].iter().zip(&self.host_sentinel).enumerate() {
                if (HOST_OUT as usize..HOST_OUT as usize + 64).contains(&i) {
                    continue;
                }
                ensure!(now == was, "host memory at {i:#x} below the heap's region changed");
            }
        }
        Ok(())
    }

    /// `size()` and the contents of a sample of blocks, or of all of them.
    fn check_blocks(&mut self, full: bool) -> R<()> {
        let n = if full { self.live.len() } else { self.live.len().min(4) };
        for k in 0..n {
            let i = if full { k } else { self.sample.below(self.live.len() as u64) as usize };
            let b = self.live[i];
            let size = self.w.try_size(b.ptr)?;
            ensure!(size == b.size, "size({:#x}) = {size}, the block was allocated with {}", b.ptr, b.size);
            self.pattern_check(&b, b.size)?;
        }
        Ok(())
    }

    /// No two live blocks (with the stats block) overlap, and none ends above `heap_top`.
    fn check_spans(&self, s: &Stats) -> R<()> {
        let mut spans: Vec<(u32, u32)> = self.live.iter().map(|b| (b.ptr, b.ptr + b.size.max(1))).collect();
        if self.own() {
            spans.push((self.out, self.out + SCRATCH));
        }
        spans.sort_unstable();
        for pair in spans.windows(2) {
            ensure!(pair[0].1 <= pair[1].0, "live blocks {:#x} and {:#x} overlap", pair[0].0, pair[1].0);
        }
        if let Some(last) = spans.last() {
            ensure!(last.1 <= s.heap_top, "live block {:#x} ends above heap_top {:#x}", last.0, s.heap_top);
        }
        Ok(())
    }
}

/// A rejected call (`rejected`) may have changed one word, by +1 (its counter); a call that
/// changes nothing, no word.
fn only_counter(diffs: &[Diff], rejected: bool) -> R<()> {
    if rejected {
        let ok = diffs.is_empty() || (diffs.len() == 1 && diffs[0].2 == diffs[0].1.wrapping_add(1));
        ensure!(ok, "a rejected call changed memory (offset, old, new): {:x?}", &diffs[..diffs.len().min(8)]);
    } else {
        ensure!(diffs.is_empty(), "a call that changes nothing changed memory: {:x?}", &diffs[..diffs.len().min(8)]);
    }
    Ok(())
}
