//! The soak's loop: random operations on one instance, checked against a model of the heap.
//!
//! The model knows every live block (pointer, requested size, alignment, segment, the pattern it
//! was filled with), the stack of segments (base, marks with their tokens, floors) and every
//! counter of `stats`. Each step performs one random operation and checks what the call returned;
//! every `--check-every` steps the heap is checked as a whole; every `--instance-ops` steps the
//! run goes on with a fresh instance. This file holds the model, the step loop and the life of an
//! instance; the rooms beside it hold the rest:
//!
//! - `operations.rs`: the random choice of an operation and the block calls (allocate,
//!   reallocate, deallocate, size), each checked against the model;
//! - `bad_pointers.rs`: pointers that are not live blocks, which must be rejected;
//! - `marks.rs`: marks and floors (free_get_mark, free_to_mark, free_all_mark, free_all), with
//!   stale and bogus marks;
//! - `checks.rs`: the heap as a whole against the model, and memory snapshots around a step;
//! - `patterns.rs`: the pattern every block is filled with, checked whenever it is freed,
//!   reallocated or released.

use host_tests::{Fuel, Instance, Layout, Stats, Weather};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;
use wasmheap_model::{Counters, History, Rng, Seg, Segments, mix};

/// The 64 bytes that `stats` writes: for an own-memory module, a block allocated for the purpose.
pub(super) const SCRATCH: u32 = 64;
/// Where `stats` writes for an imported memory: in the host's part, below the heap's region.
pub(super) const HOST_OUT: u32 = 1024;

/// Options of one run.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub ops: u64,
    pub check_every: u64,
    /// From this step on, check after every step and keep a trace (failure replays).
    pub fine_from: u64,
    pub max_live: usize,
    /// Cap on the requested bytes of live blocks.
    pub budget: u64,
    /// Cap on linear memory (bytes): growth past it is refused.
    pub cap: usize,
    /// Bad input on.
    pub bad: bool,
    /// A failed allocation must coincide with a refused `memory.grow` (false for a fixed pool).
    pub must_grow: bool,
    /// Every this many steps, bracket the step with memory snapshots.
    pub snapshot_every: u64,
    /// Every this many steps, check everything and go on with a fresh instance (memory never
    /// shrinks, and floors stay for good: a long run would otherwise drift into a corner).
    pub instance_ops: u64,
    /// Seconds between progress lines on stderr (0: none).
    pub progress: f64,
    /// Print every event of this pointer (allocated, freed, released, moved) on stderr.
    pub watch: Option<u32>,
}

/// A failure: the step it was found at and what went wrong.
#[derive(Debug)]
pub struct Failure {
    pub step: u64,
    pub what: String,
    pub trace: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Block {
    pub(super) ptr: u32,
    pub(super) size: u32,
    pub(super) align: u32,
    pub(super) seg: u16,
    /// The pattern the block was filled with.
    pub(super) id: u64,
    /// The word in front of the pointer while the block is live (the allocator's tag).
    pub(super) tag: u32,
}

/// A pointer that was live once: the block it was (its tag: the word in front of it while it was
/// live), why it died, and the instance of the segment it was in.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dead {
    pub(super) was: Block,
    pub(super) why: Why,
    pub(super) generation: u64,
}

/// Why a pointer is dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Why {
    Freed,
    Released,
    Moved,
}

/// Totals of one run.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub ops: u64,
    pub calls: u64,
    pub checks: u64,
    pub full_checks: u64,
    pub snapshots: u64,
    pub rejected_frees: u64,
    pub rejected_marks: u64,
    pub failures: u64,
    pub refusals: u64,
    pub grows: u64,
    pub allocations: u64,
    pub frees: u64,
    pub reallocations: u64,
    pub realloc_moved: u64,
    pub bytes_checked: u64,
    pub bad_tried: [u64; 9],
    pub false_accepts: u64,
    pub false_accept_notes: Vec<String>,
    /// Instances the run went through (see `Config::instance_ops`).
    pub instances: u64,
    pub storms: u64,
    pub max_depth: u32,
    pub max_live: usize,
    pub max_mem: u32,
    pub free_alls: u64,
    pub to_marks: u64,
    pub seconds: f64,
    pub fuel: Vec<Fuel>,
    /// reallocate in place / moved (with the bytes copied by the costliest move).
    pub fuel_realloc_in_place: Fuel,
    pub fuel_realloc_moved: Fuel,
    pub realloc_moved_max_copy: u32,
    /// Fuel of a move less the bytes it copied.
    pub fuel_realloc_moved_net: Fuel,
    /// free_to_mark, free_all: fuel against the segments dropped or emptied.
    pub release: [Release; 2],
    pub fuel_check_max_blocks: u64,
}

/// Fuel of `free_to_mark` or `free_all` against the segments it dropped or emptied.
#[derive(Clone, Copy, Debug, Default)]
pub struct Release {
    pub max: u64,
    pub segments_at_max: u32,
    pub max_per_segment: u64,
    pub max_segments: u32,
}

/// Adds a line to the trace (only kept near a failure being replayed).
macro_rules! note {
    ($self:ident, $($fmt:tt)*) => {
        if $self.trace.is_some() {
            let line = format!($($fmt)*);
            $self.push_note(line);
        }
    };
}

pub(super) use note;
pub(super) use wasmheap_model::ensure;

/// The regime of the random operations (see `operations.rs`, `weights`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Regime {
    /// A storm of marks: `free_get_mark` up to depth 255 and past it, since step `storm_from`;
    /// it ends at its second refused mark.
    pub(super) storm: bool,
    pub(super) storm_refusals: u32,
    pub(super) storm_from: u64,
    /// Calm: releases (free_to_mark, free_all) are rare and the live set grows large.
    pub(super) calm: bool,
}

/// What a check returns: the failure, as a sentence.
pub(super) type R<T> = Result<T, String>;

pub struct Runner {
    pub(super) cfg: Config,
    pub(super) w: Instance,
    pub(super) rng: Rng,
    pub(super) sample: Rng,
    pub(super) step: u64,
    pub(super) live: Vec<Block>,
    pub(super) index: HashMap<u32, usize>,
    pub(super) segments: Segments,
    /// Live blocks per segment, and a number for each segment instance (a new one when a
    /// segment is pushed or emptied): beside `segments`, one entry per segment.
    pub(super) seg_live: Vec<u32>,
    pub(super) dead: History<Dead>,
    pub(super) generations: Vec<u64>,
    pub(super) next_generation: u64,
    pub(super) c: Counters,
    /// `stats().peak_bytes` is the exact peak of live bytes (the debug flavor).
    pub(super) exact_peak: bool,
    /// Where `stats` writes (own memory: the scratch block, live in segment 0).
    pub(super) out: u32,
    pub(super) scratch_allocations: u32,
    pub(super) heap_start: u32,
    pub(super) next_id: u64,
    pub(super) regime: Regime,
    /// Upper bound of the heap's clock (segment ids), to keep guessed tokens clear of real ones.
    pub(super) clock_bound: u64,
    pub(super) bad_count: u64,
    pub(super) host_sentinel: Vec<u8>,
    /// Memory before the step, when it is compared (the buffer is reused).
    pub(super) snapshot: Vec<u8>,
    /// Set while an operation may legitimately write the scratch block (it calls `stats`).
    pub(super) stats_in_op: bool,
    /// Blocks the current operation returned: not protected in its snapshot.
    pub(super) fresh: Vec<u32>,
    pub(super) trace: Option<VecDeque<String>>,
    pub t: Totals,
}

impl Runner {
    pub fn new(cfg: Config, mut w: Instance) -> Runner {
        let seed = cfg.seed;
        let exact_peak = w.instance.get_export(&mut w.store, "debug_buffer").is_some();
        Runner {
            cfg,
            w,
            rng: Rng::new(seed, 1),
            sample: Rng::new(seed, 3),
            step: 0,
            live: Vec::new(),
            index: HashMap::new(),
            segments: Segments::new(),
            seg_live: vec![0],
            dead: History::new(4096),
            generations: vec![0],
            next_generation: 1,
            c: Counters::default(),
            exact_peak,
            out: 0,
            scratch_allocations: 0,
            heap_start: 0,
            next_id: 0,
            regime: Regime::default(),
            clock_bound: 1,
            bad_count: 0,
            host_sentinel: Vec::new(),
            snapshot: Vec::new(),
            stats_in_op: false,
            fresh: Vec::new(),
            trace: None,
            t: Totals::default(),
        }
    }

    pub(super) fn depth(&self) -> usize {
        self.segments.depth()
    }

    pub(super) fn floor(&self) -> usize {
        self.segments.floor()
    }

    pub(super) fn own(&self) -> bool {
        self.w.layout == Layout::Own
    }

    /// The word in front of `p` (a live block's tag).
    pub(super) fn word_before(&self, p: u32) -> u32 {
        let at = (p as usize).wrapping_sub(4);
        self.w.mem().get(at..at.wrapping_add(4)).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
    }

    /// Brings the per-segment tables to the segments' depth after `segments` changed: entries
    /// from `d` up are dropped, and each segment above gets a new, empty instance.
    pub(super) fn sync_segments(&mut self, d: usize) {
        self.seg_live.truncate(d);
        self.generations.truncate(d);
        while self.seg_live.len() <= self.depth() {
            self.seg_live.push(0);
            self.generations.push(self.next_generation);
            self.next_generation += 1;
        }
    }

    pub(super) fn watch(&self, p: u32, what: impl FnOnce() -> String) {
        if self.cfg.watch == Some(p) {
            let segs: String = self
                .segments
                .kinds()
                .iter()
                .map(|s| match s {
                    Seg::Base => 'B',
                    Seg::Mark(_) => 'm',
                    Seg::Floor => 'F',
                })
                .collect();
            eprintln!("watch {p:#x} step {}: {} [segments {segs}, floor {}]", self.step, what(), self.floor());
        }
    }

    pub(super) fn push_note(&mut self, line: String) {
        let step = self.step;
        if let Some(t) = &mut self.trace {
            if t.len() == 64 {
                t.pop_front();
            }
            t.push_back(format!("step {step}: {line}"));
        }
    }

    // ---- the run ----------------------------------------------------------------------------

    /// Runs `cfg.ops` steps; `fresh(k)` makes the k-th instance (k >= 1) when the one in use has
    /// done `cfg.instance_ops` steps.
    pub fn run(&mut self, mut fresh: impl FnMut(u64) -> Result<Instance, String>) -> Result<(), Failure> {
        let started = Instant::now();
        let r = self.setup().and_then(|()| self.steps(&mut fresh, started));
        self.t.seconds = started.elapsed().as_secs_f64();
        self.t.ops = self.step;
        self.close_instance();
        r.map_err(|what| Failure { step: self.step, what, trace: self.trace.take().map(Vec::from).unwrap_or_default() })
    }

    /// The step loop, with its checks, instances and progress lines; a full check at the end.
    fn steps(&mut self, fresh: &mut impl FnMut(u64) -> R<Instance>, started: Instant) -> R<()> {
        let mut last_progress = started;
        while self.step < self.cfg.ops {
            if self.step > 0 && self.step % self.cfg.instance_ops == 0 {
                self.next_instance(fresh)?;
            }
            self.step += 1;
            self.w.step = self.step;
            if self.step + 64 >= self.cfg.fine_from && self.trace.is_none() {
                self.trace = Some(VecDeque::new());
            }
            self.one_step()?;
            let fine = self.step >= self.cfg.fine_from;
            if fine || self.step % self.cfg.check_every == 0 {
                let full = self.step % (self.cfg.check_every * 64) == 0;
                self.verify(full)?;
            }
            if self.cfg.progress > 0.0 && self.step % 4096 == 0 {
                self.progress(started, &mut last_progress);
            }
        }
        self.verify(true)
    }

    /// Checks everything, then goes on with instance `fresh(k)` and an empty model.
    fn next_instance(&mut self, fresh: &mut impl FnMut(u64) -> R<Instance>) -> R<()> {
        self.verify(true)?;
        let w = fresh(self.step / self.cfg.instance_ops)?;
        self.close_instance();
        self.w = w;
        self.reset_model();
        self.setup()
    }

    /// A progress line on stderr, if `cfg.progress` seconds have passed since the last one.
    fn progress(&mut self, started: Instant, last_progress: &mut Instant) {
        let now = Instant::now();
        if (now - *last_progress).as_secs_f64() < self.cfg.progress {
            return;
        }
        *last_progress = now;
        let secs = (now - started).as_secs_f64();
        eprintln!(
            "  step {:>12} ({:.0} ops/s): live {:>5} blocks, depth {:>3} ({} marks, floor {}{}), memory {:>6} KiB, {:?}",
            self.step,
            self.step as f64 / secs,
            self.live.len(),
            self.depth(),
            self.marks().count(),
            self.floor(),
            if self.regime.storm {
                ", storm"
            } else if self.regime.calm {
                ", calm"
            } else {
                ""
            },
            self.w.mem_size() / 1024,
            self.w.limiter().weather
        );
    }

    /// Adds the instance's figures to the totals.
    fn close_instance(&mut self) {
        let t = &mut self.t;
        t.instances += 1;
        t.calls += self.w.calls;
        t.fuel.resize(self.w.fuel.len(), Default::default());
        for (a, b) in t.fuel.iter_mut().zip(&self.w.fuel) {
            a.merge(b);
        }
        let l = self.w.limiter();
        t.refusals += l.refused as u64;
        t.grows += l.granted as u64;
        t.rejected_frees += self.c.rejected_frees as u64;
        t.rejected_marks += self.c.rejected_marks as u64;
        t.failures += self.c.failures as u64;
        t.allocations += self.c.allocations as u64;
        t.frees += self.c.frees as u64;
        t.reallocations += self.c.reallocations as u64;
    }

    /// A new, empty model for a fresh instance.
    fn reset_model(&mut self) {
        self.live.clear();
        self.index.clear();
        self.segments = Segments::new();
        self.seg_live = vec![0];
        self.generations = vec![0];
        self.dead = History::new(4096);
        self.c = Counters::default();
        self.out = 0;
        self.scratch_allocations = 0;
        self.heap_start = 0;
        self.regime.storm = false;
        self.clock_bound = 1;
    }

    fn setup(&mut self) -> R<()> {
        match self.w.layout {
            Layout::Own => {
                self.alloc_scratch()?;
            }
            Layout::Imported { start } => {
                // The host's part of memory: a sentinel pattern that must never change, apart
                // from the 64 bytes `stats` writes at HOST_OUT.
                let sentinel: Vec<u8> = (0..start).map(|i| (mix(i as u64 ^ 0xA5) >> 13) as u8).collect();
                self.w.mem_mut()[..start as usize].copy_from_slice(&sentinel);
                self.host_sentinel = sentinel;
                self.out = HOST_OUT;
            }
        }
        let s = self.w.try_stats(self.out)?;
        self.heap_start = s.heap_start;
        if let Layout::Imported { start } = self.w.layout {
            ensure!(s.heap_start >= start, "heap_start {:#x} below the region's start {start:#x}", s.heap_start);
        }
        self.verify(true)
    }

    /// Own memory: the 64-byte block `stats` writes into. It lives in segment 0 (it is allocated
    /// at the start and after `free_all` at the base floor), so only `free_all` releases it.
    pub(super) fn alloc_scratch(&mut self) -> R<()> {
        let weather = self.w.limiter().weather;
        self.w.limiter_mut().weather = Weather::Clear;
        let p = self.w.try_allocate(SCRATCH)?;
        self.w.limiter_mut().weather = weather;
        ensure!(p != 0, "allocate({SCRATCH}) for the stats block returned 0");
        ensure!(self.depth() == 0, "scratch block allocated above the base");
        ensure!(!self.index.contains_key(&p), "allocate({SCRATCH}) returned live block {p:#x}");
        self.out = p;
        self.scratch_allocations += 1;
        self.seg_live[0] += 1;
        self.c.allocated(SCRATCH);
        Ok(())
    }

    pub(super) fn stats(&mut self) -> R<Stats> {
        let out = self.out;
        self.w.try_stats(out)
    }

    // ---- one step ---------------------------------------------------------------------------

    /// One random operation (`operations.rs`), bracketed by memory snapshots every
    /// `cfg.snapshot_every` steps (compared in `checks.rs`); then the run's maxima.
    fn one_step(&mut self) -> R<()> {
        let snapshot = self.step % self.cfg.snapshot_every == 0;
        if snapshot {
            let mut buf = std::mem::take(&mut self.snapshot);
            buf.clear();
            buf.extend_from_slice(self.w.mem());
            self.snapshot = buf;
        }
        self.stats_in_op = false;
        self.fresh.clear();
        let rejected = self.random_op()?;
        if snapshot {
            self.t.snapshots += 1;
            let before = std::mem::take(&mut self.snapshot);
            let r = self.compare(&before, rejected);
            self.snapshot = before;
            r?;
        }
        let mem = self.w.mem_size();
        self.t.max_mem = self.t.max_mem.max(mem);
        self.t.max_live = self.t.max_live.max(self.live.len());
        self.t.max_depth = self.t.max_depth.max(self.depth() as u32);
        Ok(())
    }
}
