//! The counters of `stats()` as the calls so far must have moved them (src/CONTRACT.md,
//! "Statistics"): an allocation counts once, a free once; a block released by `free_to_mark` or
//! `free_all` is not a free; a `reallocate` that succeeds is a reallocation (not an allocation and
//! a free, even when it moves); a refused request is a failure; a pointer that is not a live block
//! is a rejected free (in `deallocate` and in `reallocate`); a stale or bogus mark a rejected mark.

use crate::{Check, Stats};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    // What is live (bytes as requested), and the most there ever was.
    pub live_blocks: u32,
    pub live_bytes: u64,
    pub peak_live_bytes: u64,
    // The calls that did something.
    pub allocations: u32,
    pub reallocations: u32,
    pub frees: u32,
    // The calls that did nothing: refused requests, bad pointers, stale or bogus marks.
    pub failures: u32,
    pub rejected_frees: u32,
    pub rejected_marks: u32,
}

impl Counters {
    /// A block of `size` bytes was handed out.
    pub fn allocated(&mut self, size: u32) {
        self.allocations += 1;
        self.add_live(size);
    }

    /// A live block of `size` bytes was freed by `deallocate`.
    pub fn freed(&mut self, size: u32) {
        self.frees += 1;
        self.remove_live(size);
    }

    /// A live block of `size` bytes was released with its segment (`free_to_mark`, `free_all`).
    pub fn released(&mut self, size: u32) {
        self.remove_live(size);
    }

    /// A live block of `old` bytes was reallocated to `new` bytes (in place or moved).
    pub fn reallocated(&mut self, old: u32, new: u32) {
        self.reallocations += 1;
        self.remove_live(old);
        self.add_live(new);
    }

    fn add_live(&mut self, size: u32) {
        self.live_blocks += 1;
        self.live_bytes += size as u64;
        self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
    }

    fn remove_live(&mut self, size: u32) {
        self.live_blocks -= 1;
        self.live_bytes -= size as u64;
    }

    /// The counters as `stats` reports them.
    pub fn of(s: &Stats) -> Counters {
        Counters {
            live_blocks: s.live_blocks,
            live_bytes: s.live_bytes as u64,
            peak_live_bytes: s.peak_bytes as u64,
            allocations: s.allocations,
            frees: s.frees,
            reallocations: s.reallocations,
            failures: s.failures,
            rejected_frees: s.rejected_frees,
            rejected_marks: s.rejected_marks,
        }
    }

    /// Each counter with its name in `stats`.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("live_blocks", self.live_blocks as u64),
            ("live_bytes", self.live_bytes),
            ("peak_live_bytes", self.peak_live_bytes),
            ("allocations", self.allocations as u64),
            ("frees", self.frees as u64),
            ("reallocations", self.reallocations as u64),
            ("failures", self.failures as u64),
            ("rejected_frees", self.rejected_frees as u64),
            ("rejected_marks", self.rejected_marks as u64),
        ]
    }

    /// `Err` naming every counter of `heap` (what the heap reports) that is not the model's. The
    /// heap's `peak_bytes` is the peak of live bytes only where `exact_peak` (the debug flavor);
    /// elsewhere it is the most the heap spanned, which holds at least that peak.
    pub fn compare(&self, heap: &Counters, exact_peak: bool) -> Check {
        let differ: Vec<String> = (heap.named().into_iter().zip(self.named()))
            .filter(|(h, m)| if h.0 == "peak_live_bytes" && !exact_peak { h.1 < m.1 } else { h.1 != m.1 })
            .map(|((name, h), (_, m))| match name {
                "peak_live_bytes" if !exact_peak => {
                    format!("stats.peak_bytes = {h}, below the model's peak of live bytes {m}")
                }
                "peak_live_bytes" => format!("stats.peak_bytes = {h}, model says {m}"),
                _ => format!("stats.{name} = {h}, model says {m}"),
            })
            .collect();
        if differ.is_empty() { Ok(()) } else { Err(differ.join("; ")) }
    }
}
