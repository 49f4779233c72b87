//! The soak's loop: random operations on one instance, checked against a model of the heap.
//!
//! The model knows every live block (pointer, requested size, alignment, segment, the pattern it
//! was filled with), the stack of segments (base, marks with their tokens, floors) and every
//! counter of `stats`. Each step performs one random operation and checks what the call returned;
//! every `--check-every` steps the heap is checked as a whole (`check() == 0`, `stats` against
//! the model, a sample of blocks' `size()` and contents). A block's contents are checked against
//! its pattern whenever it is freed, reallocated or released by `free_to_mark`/`free_all`.
//!
//! Bad input: double frees, pointers released by marks or moved by `reallocate`, interior,
//! misaligned, below the heap, into the heap's own records, random in the heap, beyond memory;
//! stale and bogus marks; bad alignments; requests too large. Before a bad pointer is passed to
//! `deallocate`/`reallocate`, `size(p)` must say 0: a pointer that `size` takes for a live block
//! is a false accept of the check bits (CONTRACT.md: at most 2^-19 per stray pointer) and
//! is counted, not freed. Every so often a call is bracketed by snapshots of memory: a rejected
//! call may change one word (its counter, +1) and nothing else; any other call may not write inside
//! a live block (its whole capacity) other than the one it returns or frees.

use super::rng::{Rng, mix};
use super::wasm::{Ex, Layout, Wasm, Weather};
use host_tests::Stats;
use std::collections::{HashMap, VecDeque};

/// Largest request served (CONTRACT.md, "Limits": MAX_REQUEST).
pub const MAX_REQUEST: u32 = 0xFFFE_0000;
const MAX_DEPTH: usize = 255;
/// The 64 bytes that `stats` writes: for an own-memory module, a block allocated for the purpose.
const SCRATCH: u32 = 64;
/// Where `stats` writes for an imported memory: in the host's part, below the heap's region.
const HOST_OUT: u32 = 1024;

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
struct Block {
    ptr: u32,
    size: u32,
    align: u32,
    seg: u16,
    /// The pattern the block was filled with.
    id: u64,
    /// The word in front of the pointer while the block is live (the allocator's tag).
    tag: u32,
}

/// A pointer that was live once.
#[derive(Clone, Copy, Debug)]
struct Dead {
    ptr: u32,
    why: Why,
    /// The word in front of it while it was live, and the instance of the segment it was in.
    tag: u32,
    seg: u16,
    generation: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seg {
    Base,
    Mark(u32),
    Floor,
}

/// Why a pointer is dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Freed,
    Released,
    Moved,
}

/// Kinds of bad pointer, for the report.
pub const BAD_KINDS: [&str; 9] = [
    "double free",
    "released by a mark or free_all",
    "moved by reallocate",
    "interior",
    "misaligned",
    "below the heap",
    "into the heap's records",
    "random in the heap",
    "beyond memory",
];

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
    pub fuel: Vec<super::wasm::Fuel>,
    /// reallocate in place / moved (with the bytes copied by the costliest move).
    pub fuel_realloc_in_place: super::wasm::Fuel,
    pub fuel_realloc_moved: super::wasm::Fuel,
    pub realloc_moved_max_copy: u32,
    /// Fuel of a move less the bytes it copied.
    pub fuel_realloc_moved_net: super::wasm::Fuel,
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

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    allocations: u32,
    frees: u32,
    reallocations: u32,
    failures: u32,
    rejected_frees: u32,
    rejected_marks: u32,
    live_bytes: u64,
    peak: u64,
}

/// A ring of the last `cap` items.
struct Ring<T> {
    items: Vec<T>,
    next: usize,
    cap: usize,
}

impl<T: Copy> Ring<T> {
    fn new(cap: usize) -> Ring<T> {
        Ring {
            items: Vec::with_capacity(cap),
            next: 0,
            cap,
        }
    }
    fn push(&mut self, t: T) {
        if self.items.len() < self.cap {
            self.items.push(t);
        } else {
            self.items[self.next] = t;
            self.next = (self.next + 1) % self.cap;
        }
    }
    fn pick(&self, rng: &mut Rng) -> Option<T> {
        (!self.items.is_empty()).then(|| self.items[rng.below(self.items.len() as u64) as usize])
    }
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

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

type R<T> = Result<T, String>;

pub struct Runner {
    cfg: Config,
    w: Wasm,
    rng: Rng,
    sample: Rng,
    step: u64,
    live: Vec<Block>,
    index: HashMap<u32, usize>,
    segs: Vec<Seg>,
    seg_live: Vec<u32>,
    floor: usize,
    dead: Ring<Dead>,
    /// A number for each segment instance (a new one when a segment is pushed or emptied).
    generations: Vec<u64>,
    next_generation: u64,
    used_marks: Ring<u32>,
    c: Counters,
    /// Where `stats` writes (own memory: the scratch block, live in segment 0).
    out: u32,
    scratch_allocations: u32,
    heap_start: u32,
    next_id: u64,
    storm: bool,
    storm_refusals: u32,
    storm_from: u64,
    /// Calm regime: releases (free_to_mark, free_all) are rare and the live set grows large.
    calm: bool,
    /// Upper bound of the heap's clock (segment ids), to keep guessed tokens clear of real ones.
    clock_bound: u64,
    bad_count: u64,
    host_sentinel: Vec<u8>,
    /// Memory before the step, when it is compared (the buffer is reused).
    snapshot: Vec<u8>,
    /// Set while an operation may legitimately write the scratch block (it calls `stats`).
    stats_in_op: bool,
    /// Blocks the current operation returned: not protected in its snapshot.
    fresh: Vec<u32>,
    trace: Option<VecDeque<String>>,
    pub t: Totals,
}

impl Runner {
    pub fn new(cfg: Config, w: Wasm) -> Runner {
        let seed = cfg.seed;
        Runner {
            cfg,
            w,
            rng: Rng::new(seed, 1),
            sample: Rng::new(seed, 3),
            step: 0,
            live: Vec::new(),
            index: HashMap::new(),
            segs: vec![Seg::Base],
            seg_live: vec![0],
            floor: 0,
            dead: Ring::new(4096),
            generations: vec![0],
            next_generation: 1,
            used_marks: Ring::new(1024),
            c: Counters::default(),
            out: 0,
            scratch_allocations: 0,
            heap_start: 0,
            next_id: 0,
            storm: false,
            storm_refusals: 0,
            storm_from: 0,
            calm: false,
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

    fn depth(&self) -> usize {
        self.segs.len() - 1
    }

    fn own(&self) -> bool {
        self.w.layout == Layout::Own
    }

    /// The word in front of `p` (a live block's tag).
    fn word_before(&self, p: u32) -> u32 {
        let at = (p as usize).wrapping_sub(4);
        self.w
            .mem()
            .get(at..at.wrapping_add(4))
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
    }

    /// Pushes a new segment instance.
    fn push_seg(&mut self, seg: Seg) {
        self.segs.push(seg);
        self.seg_live.push(0);
        self.generations.push(self.next_generation);
        self.next_generation += 1;
    }

    fn watch(&self, p: u32, what: impl FnOnce() -> String) {
        if self.cfg.watch == Some(p) {
            let segs: String = self
                .segs
                .iter()
                .map(|s| match s {
                    Seg::Base => 'B',
                    Seg::Mark(_) => 'm',
                    Seg::Floor => 'F',
                })
                .collect();
            eprintln!(
                "watch {p:#x} step {}: {} [segments {segs}, floor {}]",
                self.step,
                what(),
                self.floor
            );
        }
    }

    fn push_note(&mut self, line: String) {
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
    pub fn run(&mut self, mut fresh: impl FnMut(u64) -> Result<Wasm, String>) -> Result<(), Failure> {
        let started = std::time::Instant::now();
        let mut last_progress = started;
        let r = self.setup().and_then(|()| {
            while self.step < self.cfg.ops {
                if self.step > 0 && self.step % self.cfg.instance_ops == 0 {
                    self.verify(true)?;
                    let w = fresh(self.step / self.cfg.instance_ops)?;
                    self.close_instance();
                    self.w = w;
                    self.reset_model();
                    self.setup()?;
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
                    let now = std::time::Instant::now();
                    if (now - last_progress).as_secs_f64() >= self.cfg.progress {
                        last_progress = now;
                        let secs = (now - started).as_secs_f64();
                        eprintln!(
                            "  step {:>12} ({:.0} ops/s): live {:>5} blocks, depth {:>3} ({} marks, floor {}{}), memory {:>6} KiB, {:?}",
                            self.step,
                            self.step as f64 / secs,
                            self.live.len(),
                            self.depth(),
                            self.marks().count(),
                            self.floor,
                            if self.storm { ", storm" } else if self.calm { ", calm" } else { "" },
                            self.w.mem_size() / 1024,
                            self.w.limiter().weather
                        );
                    }
                }
            }
            self.verify(true)
        });
        self.t.seconds = started.elapsed().as_secs_f64();
        self.t.ops = self.step;
        self.close_instance();
        r.map_err(|what| Failure {
            step: self.step,
            what,
            trace: self.trace.take().map(Vec::from).unwrap_or_default(),
        })
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
        let l = self.w.store.data();
        t.refusals += l.refused;
        t.grows += l.granted;
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
        self.segs = vec![Seg::Base];
        self.seg_live = vec![0];
        self.generations = vec![0];
        self.floor = 0;
        self.dead = Ring::new(4096);
        self.used_marks = Ring::new(1024);
        self.c = Counters::default();
        self.out = 0;
        self.scratch_allocations = 0;
        self.heap_start = 0;
        self.storm = false;
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
        let s = self.w.stats(self.out)?;
        self.heap_start = s.heap_start;
        if let Layout::Imported { start } = self.w.layout {
            ensure!(
                s.heap_start >= start,
                "heap_start {:#x} below the region's start {start:#x}",
                s.heap_start
            );
        }
        self.verify(true)
    }

    /// Own memory: the 64-byte block `stats` writes into. It lives in segment 0 (it is allocated
    /// at the start and after `free_all` at the base floor), so only `free_all` releases it.
    fn alloc_scratch(&mut self) -> R<()> {
        let weather = self.w.limiter().weather;
        self.w.limiter().weather = Weather::Clear;
        let p = self.w.allocate(SCRATCH)?;
        self.w.limiter().weather = weather;
        ensure!(p != 0, "allocate({SCRATCH}) for the stats block returned 0");
        ensure!(self.depth() == 0, "scratch block allocated above the base");
        ensure!(
            !self.index.contains_key(&p),
            "allocate({SCRATCH}) returned live block {p:#x}"
        );
        self.out = p;
        self.scratch_allocations += 1;
        self.seg_live[0] += 1;
        self.c.allocations += 1;
        self.add_live_bytes(SCRATCH as u64);
        Ok(())
    }

    fn add_live_bytes(&mut self, n: u64) {
        self.c.live_bytes += n;
        self.c.peak = self.c.peak.max(self.c.live_bytes);
    }

    fn stats(&mut self) -> R<Stats> {
        let out = self.out;
        self.w.stats(out)
    }

    // ---- one step ---------------------------------------------------------------------------

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

    /// Performs one random operation. Returns whether it was a rejected call (for the snapshot
    /// comparison): `Some(true)` rejected and counted, `Some(false)` a no-op, `None` anything else.
    fn random_op(&mut self) -> R<Option<bool>> {
        let depth = self.depth();
        if self.storm && self.step - self.storm_from > 5000 {
            self.storm = false;
        }
        let full = self.live.len() >= self.cfg.max_live || self.c.live_bytes >= self.cfg.budget;
        let empty = self.live.is_empty();
        let has_marks = self.segs.iter().any(|s| matches!(s, Seg::Mark(_)));
        let bad = self.cfg.bad;
        let calm = if self.calm { 20 } else { 1 };
        // Weights per 100 000.
        let w = [
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
            if self.storm {
                60_000
            } else if depth < 8 {
                1_500 / calm
            } else if depth < 32 {
                300
            } else {
                60
            }, // 9 free_get_mark
            if has_marks && !self.storm { 1_100 / calm } else { 0 }, // 10 free_to_mark
            if bad { 400 } else { 0 },     // 11 stale mark
            if bad { 400 } else { 0 },     // 12 bogus mark
            // Floors are for good: free_to_mark of a mark below one makes the mark's segment the
            // floor, so floors creep up over an instance's life (hence `instance_ops`). At
            // depth 255 free_all_mark must fail.
            if self.storm {
                if depth == MAX_DEPTH { 2_000 } else { 0 }
            } else if depth < 2 || (depth < 16 && has_marks) {
                800 / calm
            } else {
                0
            }, // 13 free_all_mark
            if self.storm { 0 } else { 80 / calm }, // 14 free_all
            100,                                    // 15 weather
            if self.storm { 0 } else { 2 },         // 16 mark storm
        ];
        let total: u32 = w.iter().sum();
        let mut pick = self.rng.below32(total);
        let mut op = 0;
        while pick >= w[op] {
            pick -= w[op];
            op += 1;
        }
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
            6 => {
                note!(self, "deallocate(0)");
                self.w.deallocate(0)?;
                ensure!(self.w.size(0)? == 0, "size(0) != 0");
                Ok(Some(false))
            }
            7 => self.op_bad(false),
            8 => self.op_bad(true),
            9 => self.op_get_mark(),
            10 => self.op_to_mark(),
            11 => self.op_stale_mark(),
            12 => self.op_bogus_mark(),
            13 => self.op_free_all_mark(),
            14 => self.op_free_all(),
            15 => {
                let weather = match self.rng.below(100) {
                    0..=74 => Weather::Clear,
                    75..=89 => Weather::Flaky,
                    _ => Weather::Frozen,
                };
                if self.rng.chance(1, 20) {
                    self.calm = !self.calm;
                }
                note!(self, "weather: {weather:?}, calm {}", self.calm);
                self.w.limiter().weather = weather;
                Ok(None)
            }
            _ => {
                note!(self, "mark storm: free_get_mark up to depth 255 and past it");
                self.storm = true;
                self.storm_refusals = 0;
                self.storm_from = self.step;
                self.t.storms += 1;
                Ok(None)
            }
        }
    }

    /// A request size: mostly small, some medium, a few large, rarely one that must fail.
    fn request(&mut self) -> u32 {
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
    fn failure_allowed(&mut self, what: &str, size: u32) -> R<()> {
        if size as u64 + 2 * 65536 > self.cfg.cap as u64 || !self.cfg.must_grow || self.w.refused_in_call() > 0 {
            return Ok(());
        }
        Err(format!("{what} returned 0 though memory.grow was not refused"))
    }

    // ---- blocks -----------------------------------------------------------------------------

    fn pattern_check(&mut self, b: &Block, len: u32) -> R<()> {
        let mem = self.w.mem();
        ensure!(
            b.ptr as u64 + len as u64 <= mem.len() as u64,
            "live block {:#x} (size {}) reaches past the end of memory {:#x}",
            b.ptr,
            b.size,
            mem.len()
        );
        self.t.bytes_checked += len as u64;
        if let Some(i) = pattern_mismatch(&mem[b.ptr as usize..(b.ptr + len) as usize], b.id) {
            let got = mem[b.ptr as usize + i];
            return Err(format!(
                "live block {:#x} (size {}, align {}, segment {}) corrupted at byte {i}: {got:#04x}, expected {:#04x}",
                b.ptr,
                b.size,
                b.align,
                b.seg,
                pattern_byte(b.id, i)
            ));
        }
        Ok(())
    }

    fn fill(&mut self, ptr: u32, size: u32) -> u64 {
        self.next_id += 1;
        let id = mix(self.next_id ^ self.cfg.seed.rotate_left(17));
        fill_pattern(&mut self.w.mem_mut()[ptr as usize..(ptr + size) as usize], id);
        id
    }

    /// Fills the block just handed out at `q` and records it live in segment `seg`: the model's
    /// tables, the per-segment count, live bytes, and the list of blocks to check next.
    fn track(&mut self, q: u32, size: u32, align: u32, seg: u16, what: impl FnOnce() -> String) {
        let id = self.fill(q, size);
        self.watch(q, what);
        let tag = self.word_before(q);
        self.index.insert(q, self.live.len());
        self.live.push(Block { ptr: q, size, align, seg, id, tag });
        self.seg_live[seg as usize] += 1;
        self.add_live_bytes(size as u64);
        self.fresh.push(q);
    }

    /// Takes `q`, just returned for a request of `size` bytes aligned to `align`, as a new block
    /// of the newest segment, and fills it.
    fn adopt(&mut self, what: &str, q: u32, size: u32, align: u32) -> R<()> {
        ensure!(q % align == 0, "{what} returned {q:#x}, not aligned to {align}");
        ensure!(
            q >= self.heap_start + 8,
            "{what} returned {q:#x}, below the heap (starts at {:#x})",
            self.heap_start
        );
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
        self.c.allocations += 1;
        Ok(())
    }

    /// Removes live block `i` from the model.
    fn remove(&mut self, i: usize, why: Option<Why>) -> Block {
        let b = self.live.swap_remove(i);
        self.index.remove(&b.ptr);
        if i < self.live.len() {
            self.index.insert(self.live[i].ptr, i);
        }
        self.seg_live[b.seg as usize] -= 1;
        self.c.live_bytes -= b.size as u64;
        if let Some(why) = why {
            let generation = self.generations[b.seg as usize];
            self.dead.push(Dead {
                ptr: b.ptr,
                why,
                tag: b.tag,
                seg: b.seg,
                generation,
            });
        }
        self.watch(b.ptr, || {
            format!("dead ({why:?}), was size {}, segment {}", b.size, b.seg)
        });
        b
    }

    fn op_allocate(&mut self, size: u32, align: Option<u32>) -> R<Option<bool>> {
        if size as u64 + self.c.live_bytes > self.cfg.budget
            && size as u64 <= self.cfg.cap as u64
            && !self.live.is_empty()
        {
            return self.op_deallocate();
        }
        let (q, what) = match align {
            None => (self.w.allocate(size)?, format!("allocate({size:#x})")),
            Some(a) => (
                self.w.allocate_aligned(size, a)?,
                format!("allocate_aligned({size:#x}, {a:#x})"),
            ),
        };
        note!(self, "{what} -> {q:#x}");
        if let Some(a) = align
            && !(a.is_power_of_two() && a <= 65536)
        {
            ensure!(q == 0, "{what} with a bad alignment returned {q:#x}");
            self.c.failures += 1;
            return Ok(Some(true));
        }
        if q == 0 {
            self.failure_allowed(&what, size)?;
            self.c.failures += 1;
            return Ok(Some(true));
        }
        ensure!(
            size as u64 <= self.cfg.cap as u64,
            "{what} returned {q:#x}, more than the memory cap"
        );
        self.adopt(&what, q, size, align.unwrap_or(8).max(8))?;
        Ok(None)
    }

    fn op_realloc_null(&mut self, size: u32) -> R<Option<bool>> {
        let q = self.w.reallocate(0, size)?;
        let what = format!("reallocate(0, {size:#x})");
        note!(self, "{what} -> {q:#x}");
        if q == 0 {
            self.failure_allowed(&what, size)?;
            self.c.failures += 1;
            return Ok(Some(true));
        }
        ensure!(
            size as u64 <= self.cfg.cap as u64,
            "{what} returned {q:#x}, more than the memory cap"
        );
        self.adopt(&what, q, size, 8)?;
        Ok(None)
    }

    fn op_deallocate(&mut self) -> R<Option<bool>> {
        if self.live.is_empty() {
            return Ok(None);
        }
        let i = self.rng.below(self.live.len() as u64) as usize;
        let b = self.live[i];
        self.pattern_check(&b, b.size)?;
        note!(self, "deallocate({:#x}) [size {}, segment {}]", b.ptr, b.size, b.seg);
        self.w.deallocate(b.ptr)?;
        self.remove(i, Some(Why::Freed));
        self.c.frees += 1;
        Ok(None)
    }

    fn op_size(&mut self) -> R<Option<bool>> {
        let i = self.rng.below(self.live.len() as u64) as usize;
        let b = self.live[i];
        let n = self.w.size(b.ptr)?;
        note!(self, "size({:#x}) -> {n}", b.ptr);
        ensure!(
            n == b.size,
            "size({:#x}) = {n}, the block was allocated with {}",
            b.ptr,
            b.size
        );
        Ok(Some(false))
    }

    fn op_reallocate(&mut self) -> R<Option<bool>> {
        let i = self.rng.below(self.live.len() as u64) as usize;
        let b = self.live[i];
        let size = match self.rng.below(8) {
            0 => 0,
            1 => self.rng.below32(b.size + 1),
            2 => b.size.saturating_add(self.rng.below32(64)),
            3 => b.size,
            _ => self.request(),
        };
        if size > b.size
            && (size - b.size) as u64 + self.c.live_bytes > self.cfg.budget
            && size as u64 <= self.cfg.cap as u64
        {
            return self.op_deallocate();
        }
        self.pattern_check(&b, b.size)?;
        let what = format!(
            "reallocate({:#x}, {size:#x}) [size {}, segment {}, depth {}]",
            b.ptr,
            b.size,
            b.seg,
            self.depth()
        );
        let q = self.w.reallocate(b.ptr, size)?;
        let fuel = self.w.last_fuel;
        note!(self, "{what} -> {q:#x}");
        if q == 0 {
            ensure!(size > b.size, "{what} returned 0, but shrinking never fails");
            self.failure_allowed(&what, size)?;
            self.c.failures += 1;
            // On failure the old block is untouched.
            return self.pattern_check(&b, b.size).map(|()| Some(true));
        }
        ensure!(
            size as u64 <= self.cfg.cap as u64,
            "{what} returned {q:#x}, more than the memory cap"
        );
        if size <= b.size {
            ensure!(q == b.ptr, "{what} moved to {q:#x}, but shrinking stays in place");
        }
        let keep = b.size.min(size);
        let moved = q != b.ptr;
        if moved {
            ensure!(q % 8 == 0, "{what} moved to a misaligned {q:#x}");
            ensure!(!self.index.contains_key(&q), "{what} moved onto live block {q:#x}");
            ensure!(
                q as u64 + size as u64 <= self.w.mem_size() as u64,
                "{what} moved to {q:#x}: the block ends past the end of memory"
            );
            if self.own() {
                let s = self.out;
                ensure!(
                    q as u64 + size.max(1) as u64 <= s as u64 || q >= s + SCRATCH,
                    "{what} moved onto the stats block"
                );
            }
            self.t.fuel_realloc_moved.add(fuel, self.step, [b.ptr, size]);
            if fuel == self.t.fuel_realloc_moved.max {
                self.t.realloc_moved_max_copy = keep;
            }
            // wasmtime charges memory.copy by the byte: the rest is the call's own cost.
            self.t
                .fuel_realloc_moved_net
                .add(fuel.saturating_sub(keep as u64), self.step, [b.ptr, size]);
            self.t.realloc_moved += 1;
        } else {
            self.t.fuel_realloc_in_place.add(fuel, self.step, [b.ptr, size]);
        }
        // The first min(old, new) bytes arrived intact.
        let kept = Block { ptr: q, ..b };
        self.pattern_check(&kept, keep)
            .map_err(|e| format!("{what} -> {q:#x} did not keep the contents: {e}"))?;
        self.remove(i, moved.then_some(Why::Moved));
        let seg = if moved { self.depth() as u16 } else { b.seg };
        let align = if moved { 8 } else { b.align };
        self.track(q, size, align, seg, || format!("{what} -> {q:#x}: live, size {size}, segment {seg}"));
        self.c.reallocations += 1;
        self.fresh.push(b.ptr);
        Ok(None)
    }

    // ---- bad pointers -----------------------------------------------------------------------

    /// A pointer that is not a live block, with its kind (index into [`BAD_KINDS`]).
    fn bad_pointer(&mut self) -> Option<(u32, usize)> {
        let mem = self.w.mem_size();
        let hs = self.heap_start;
        for _ in 0..8 {
            let kind = self.rng.below(BAD_KINDS.len() as u64) as usize;
            let p = match kind {
                0..=2 => {
                    let want = [Why::Freed, Why::Released, Why::Moved][kind];
                    let Some(d) = self.dead.pick(&mut self.rng) else {
                        continue;
                    };
                    if d.why != want {
                        continue;
                    }
                    d.ptr
                }
                3 => {
                    if self.live.is_empty() {
                        continue;
                    }
                    let b = self.live[self.rng.below(self.live.len() as u64) as usize];
                    if b.size <= 8 {
                        continue;
                    }
                    b.ptr + 8 * self.rng.range(1, (b.size - 1) / 8)
                }
                4 => {
                    if self.live.is_empty() {
                        continue;
                    }
                    let b = self.live[self.rng.below(self.live.len() as u64) as usize];
                    b.ptr + 8 * self.rng.below32(b.size / 8 + 1) + self.rng.range(1, 7)
                }
                5 => {
                    let p = self.rng.range(1, hs - 1);
                    if self.rng.chance(3, 4) { p & !7 } else { p }
                }
                6 => hs + 8 * self.rng.below32(400),
                7 => hs + 8 * self.rng.below32((mem - hs) / 8),
                _ => match self.rng.below(4) {
                    0 => mem.saturating_add(8 * self.rng.below32(1 << 20)),
                    1 => u32::MAX - self.rng.below32(64),
                    2 => mem + 8 * self.rng.below32(4),
                    _ => self.rng.range(mem, u32::MAX) & !7,
                },
            };
            if p == 0 || self.index.contains_key(&p) || (self.own() && p == self.out) {
                continue;
            }
            return Some((p, kind));
        }
        None
    }

    fn op_bad(&mut self, realloc: bool) -> R<Option<bool>> {
        let Some((p, kind)) = self.bad_pointer() else {
            return Ok(None);
        };
        self.bad_count += 1;
        self.t.bad_tried[kind] += 1;
        // `size` must not take it for a live block; if it does, the check bits accepted a stray
        // pointer by chance (CONTRACT.md: at most 2^-19): count it and leave the pointer alone.
        let n = self.w.size(p)?;
        self.watch(p, || format!("bad pointer ({}): size() = {n}", BAD_KINDS[kind]));
        if n != 0 {
            // A pointer that was live in a segment instance that still exists, in front of which
            // the tag it had then is still in memory: the check bits cannot help (same place,
            // same epoch), only the header word can, and it was taken for a used block. Every
            // recorded death of the pointer counts (it may have been reused since `dead`).
            let now = self.word_before(p);
            let stale = self
                .dead
                .items
                .iter()
                .find(|d| d.ptr == p && self.generations.get(d.seg as usize) == Some(&d.generation) && d.tag == now)
                .copied();
            if let Some(d) = stale {
                let header = self.word_before(p - 4);
                return Err(format!(
                    "size({p:#x}) = {n}: a {} pointer ({:?} in a segment that still exists) is taken for a live \
                     block. Its old tag {:#010x} is still in front of it and the word before ({header:#010x}) \
                     passes for a used header: the allocator would accept this double free (rerun with \
                     --watch {p:#x} for its history)",
                    BAD_KINDS[kind], d.why, d.tag
                ));
            }
            self.t.false_accepts += 1;
            let limit = 2 + self.bad_count / (1 << 17);
            ensure!(
                self.t.false_accepts <= limit,
                "{} stray pointers taken for live blocks in {} tries: far more than the check bits allow (2^-19 each)",
                self.t.false_accepts,
                self.bad_count
            );
            let mem = self.w.mem();
            let word = |at: u32| {
                mem.get(at as usize..at as usize + 4)
                    .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
            };
            let (header, tag) = (word(p.wrapping_sub(8)), word(p.wrapping_sub(4)));
            let note = format!(
                "step {}: size({p:#x}) = {n} for a {} pointer (header {header:#010x}, tag {tag:#010x}, depth {})",
                self.step,
                BAD_KINDS[kind],
                self.depth()
            );
            note!(self, "{note}");
            if self.t.false_accept_notes.len() < 16 {
                self.t.false_accept_notes.push(note);
            }
            return Ok(Some(false));
        }
        if realloc {
            let size = self.request();
            let q = self.w.reallocate(p, size)?;
            note!(self, "reallocate({p:#x}, {size:#x}) [{}] -> {q:#x}", BAD_KINDS[kind]);
            ensure!(
                q == 0,
                "reallocate({p:#x}, {size:#x}) of a {} pointer returned {q:#x}",
                BAD_KINDS[kind]
            );
        } else {
            note!(self, "deallocate({p:#x}) [{}]", BAD_KINDS[kind]);
            self.w.deallocate(p)?;
        }
        self.c.rejected_frees += 1;
        Ok(Some(true))
    }

    // ---- marks ------------------------------------------------------------------------------

    fn marks(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.segs.iter().enumerate().filter_map(|(d, s)| match s {
            Seg::Mark(m) => Some((d, *m)),
            _ => None,
        })
    }

    fn in_force(&self, m: u32) -> bool {
        self.marks().any(|(_, x)| x == m)
    }

    fn op_get_mark(&mut self) -> R<Option<bool>> {
        let depth = self.depth();
        let m = self.w.free_get_mark()?;
        note!(self, "free_get_mark() -> {m:#x} [depth {depth}]");
        if depth >= MAX_DEPTH {
            ensure!(m == 0, "free_get_mark() at depth {depth} returned {m:#x}, not 0");
            self.c.failures += 1;
            if self.storm {
                self.storm_refusals += 1;
                self.storm = self.storm_refusals < 2;
            }
            return Ok(Some(true));
        }
        if m == 0 {
            self.failure_allowed("free_get_mark()", 0)?;
            self.c.failures += 1;
            // Out of memory: a storm that cannot reach depth 255 gives up.
            if self.storm {
                self.storm_refusals += 1;
                self.storm = self.storm_refusals < 2;
            }
            return Ok(Some(true));
        }
        ensure!(
            !self.in_force(m),
            "free_get_mark() returned {m:#x}, a mark already in force"
        );
        self.push_seg(Seg::Mark(m));
        self.clock_bound += 1;
        Ok(None)
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

    /// Drops segments `d..` from the model, with their blocks.
    fn release_from(&mut self, d: usize) {
        let mut i = 0;
        while i < self.live.len() {
            if self.live[i].seg as usize >= d {
                self.remove(i, Some(Why::Released));
            } else {
                i += 1;
            }
        }
        for s in self.segs.drain(d..) {
            if let Seg::Mark(m) = s {
                self.used_marks.push(m);
            }
        }
        self.seg_live.truncate(d);
        self.generations.truncate(d);
    }

    fn op_to_mark(&mut self) -> R<Option<bool>> {
        let marks: Vec<(usize, u32)> = self.marks().collect();
        let (d, m) = if self.rng.chance(1, 2) {
            *marks.last().unwrap()
        } else {
            marks[self.rng.below(marks.len() as u64) as usize]
        };
        self.check_segments_from(d)?;
        let dropped = self.depth() + 1 - d;
        note!(
            self,
            "free_to_mark({m:#x}) [mark at depth {d} of {}, floor {}]",
            self.depth(),
            self.floor
        );
        self.w.free_to_mark(m)?;
        if let Some(p) = self.cfg.watch {
            self.watch(p, || format!("(free_to_mark({m:#x}) at depth {d})"));
        }
        self.t.to_marks += 1;
        self.release_fuel(0, dropped);
        self.release_from(d);
        if self.floor >= d {
            // The floor comes down to the state after the call: an empty floor segment at d.
            self.push_seg(Seg::Floor);
            self.floor = d;
        }
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

    fn op_stale_mark(&mut self) -> R<Option<bool>> {
        let Some(m) = self.used_marks.pick(&mut self.rng) else {
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
        self.w.free_to_mark(m)?;
        self.c.rejected_marks += 1;
        Ok(Some(true))
    }

    fn op_bogus_mark(&mut self) -> R<Option<bool>> {
        let depth = self.depth() as u32;
        // Ids the heap's clock cannot have reached: a guessed token never names a real segment.
        ensure!(self.clock_bound < 0xC0_0000, "the clock may have reached the bogus ids");
        let r = &mut self.rng;
        let m = match r.below(6) {
            0 => 0,
            1 => r.u32(),
            2 => r.range(0xC0_0000, 0xFF_FFFF) << 8 | r.range(1, depth.max(1)),
            3 => match self
                .segs
                .iter()
                .rev()
                .find_map(|s| if let Seg::Mark(m) = s { Some(*m) } else { None })
            {
                // A real mark's id with another depth.
                Some(m) => m & !0xFF | r.range(1, 255),
                None => r.u32() & !0xFF,
            },
            4 => r.u32() & !0xFF, // depth 0: the base has no token
            _ => r.u32() | 0xFF,  // depth 255
        };
        self.reject_mark(m, "bogus")
    }

    fn op_free_all_mark(&mut self) -> R<Option<bool>> {
        let depth = self.depth();
        let empty_floor = depth == self.floor && self.seg_live[depth] == 0;
        self.w.free_all_mark()?;
        let refused = self.w.refused_in_call();
        self.stats_in_op = true;
        let s = self.stats()?;
        note!(
            self,
            "free_all_mark() [depth {depth}, floor {}] -> depth {}",
            self.floor,
            s.mark_depth
        );
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
            self.push_seg(Seg::Floor);
            self.floor = depth + 1;
            self.clock_bound += 1;
        } else {
            ensure!(
                s.mark_depth as usize == depth,
                "free_all_mark() at depth {depth} left depth {}",
                s.mark_depth
            );
            ensure!(
                depth >= MAX_DEPTH || refused > 0 || !self.cfg.must_grow,
                "free_all_mark() at depth {depth} did nothing, though memory could grow"
            );
            self.c.failures += 1;
        }
        Ok(None)
    }

    fn op_free_all(&mut self) -> R<Option<bool>> {
        let f = self.floor;
        self.check_segments_from(f)?;
        let dropped = self.depth() + 1 - f;
        note!(self, "free_all() [depth {}, floor {f}]", self.depth());
        self.w.free_all()?;
        if let Some(p) = self.cfg.watch {
            self.watch(p, || "(free_all())".into());
        }
        self.t.free_alls += 1;
        self.release_fuel(1, dropped);
        self.release_from(f + 1);
        let mut i = 0;
        while i < self.live.len() {
            if self.live[i].seg as usize == f {
                self.remove(i, Some(Why::Released));
            } else {
                i += 1;
            }
        }
        // The floor segment is emptied: a new instance (new epoch).
        self.generations[f] = self.next_generation;
        self.next_generation += 1;
        self.clock_bound += 1;
        if f == 0 && self.own() {
            // The stats block was in the floor segment: gone.
            self.seg_live[0] -= 1;
            self.c.live_bytes -= SCRATCH as u64;
            let generation = self.generations[0];
            self.dead.push(Dead {
                ptr: self.out,
                why: Why::Released,
                tag: 0,
                seg: 0,
                generation,
            });
            self.alloc_scratch()?;
            self.fresh.push(self.out);
        }
        ensure!(
            self.seg_live[f] == (f == 0 && self.own()) as u32,
            "model: blocks left in the floor"
        );
        Ok(None)
    }

    // ---- checks -----------------------------------------------------------------------------

    /// Compares memory after the step with `before`. A rejected call may change one word, by +1
    /// (its counter); a no-op nothing; any call nothing inside a live block's capacity.
    fn compare(&mut self, before: &[u8], rejected: Option<bool>) -> R<()> {
        let after = self.w.mem();
        let from = match self.w.layout {
            Layout::Own => self.heap_start as usize, // below: the module's stack and statics
            Layout::Imported { .. } => 0,
        };
        let n = before.len().min(after.len());
        let mut diffs: Vec<(u32, u32, u32)> = Vec::new();
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
        if let Layout::Imported { start } = self.w.layout {
            let out = self.out as usize..self.out as usize + 64;
            if let Some(&(o, x, y)) = diffs
                .iter()
                .find(|d| (d.0 as usize) < start as usize && !out.contains(&(d.0 as usize)))
            {
                return Err(format!(
                    "the step wrote the host's memory below the heap's region at {o:#x}: {x:#010x} -> {y:#010x}"
                ));
            }
            // The module's shadow stack, from `start` to the heap: its own to write.
            let stack = start..self.heap_start;
            diffs.retain(|d| !stack.contains(&d.0));
        }
        match rejected {
            Some(true) => {
                let ok = diffs.is_empty() || (diffs.len() == 1 && diffs[0].2 == diffs[0].1.wrapping_add(1));
                ensure!(
                    ok,
                    "a rejected call changed memory (offset, old, new): {:x?}",
                    &diffs[..diffs.len().min(8)]
                );
                return Ok(());
            }
            Some(false) => {
                ensure!(
                    diffs.is_empty(),
                    "a call that changes nothing changed memory: {:x?}",
                    &diffs[..diffs.len().min(8)]
                );
                return Ok(());
            }
            None => {}
        }
        if diffs.is_empty() {
            return Ok(());
        }
        // Capacity of each live block: at least max(8, size rounded up to 8).
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
        for &(o, x, y) in &diffs {
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

    /// The heap as a whole against the model.
    fn verify(&mut self, full: bool) -> R<()> {
        let code = self.w.check()?;
        let check_fuel = self.w.last_fuel;
        ensure!(code == 0, "check() = {code}");
        if check_fuel == self.w.fuel[Ex::Check as usize].max {
            self.t.fuel_check_max_blocks = self.live.len() as u64;
        }
        let s = self.stats()?;
        let mem = self.w.mem_size();
        let own = self.own() as u32;
        let exp: [(&str, u64, u64); 10] = [
            ("live_blocks", s.live_blocks as u64, self.live.len() as u64 + own as u64),
            ("live_bytes", s.live_bytes as u64, self.c.live_bytes),
            ("peak_live_bytes", s.peak_live_bytes as u64, self.c.peak),
            ("allocations", s.allocations as u64, self.c.allocations as u64),
            ("frees", s.frees as u64, self.c.frees as u64),
            ("reallocations", s.reallocations as u64, self.c.reallocations as u64),
            ("failures", s.failures as u64, self.c.failures as u64),
            ("rejected_frees", s.rejected_frees as u64, self.c.rejected_frees as u64),
            ("rejected_marks", s.rejected_marks as u64, self.c.rejected_marks as u64),
            ("mark_depth", s.mark_depth as u64, self.depth() as u64),
        ];
        for (name, got, want) in exp {
            ensure!(got == want, "stats.{name} = {got}, the model says {want}");
        }
        ensure!(
            s.heap_start == self.heap_start,
            "heap_start moved from {:#x} to {:#x}",
            self.heap_start,
            s.heap_start
        );
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
                ensure!(
                    s.memory_grows as u64 == granted,
                    "memory_grows {} but the limiter granted {granted}",
                    s.memory_grows
                );
            }
            Layout::Own | Layout::Imported { .. } => {
                ensure!(
                    s.heap_bytes <= mem - s.heap_start,
                    "heap_bytes {} past the end of memory",
                    s.heap_bytes
                );
                ensure!(
                    s.memory_grows as u64 <= granted,
                    "memory_grows {} but the limiter granted {granted}",
                    s.memory_grows
                );
            }
        }
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
        if let Layout::Imported { start } = self.w.layout {
            let mem = self.w.mem();
            for i in 0..start as usize {
                if (HOST_OUT as usize..HOST_OUT as usize + 64).contains(&i) {
                    continue;
                }
                ensure!(
                    mem[i] == self.host_sentinel[i],
                    "host memory at {i:#x} below the heap's region changed"
                );
            }
        }
        // A sample of blocks, or all of them.
        let n = if full { self.live.len() } else { self.live.len().min(4) };
        for k in 0..n {
            let i = if full {
                k
            } else {
                self.sample.below(self.live.len() as u64) as usize
            };
            let b = self.live[i];
            let size = self.w.size(b.ptr)?;
            ensure!(
                size == b.size,
                "size({:#x}) = {size}, the block was allocated with {}",
                b.ptr,
                b.size
            );
            self.pattern_check(&b, b.size)?;
        }
        if full {
            let mut spans: Vec<(u32, u32)> = self.live.iter().map(|b| (b.ptr, b.ptr + b.size.max(1))).collect();
            if self.own() {
                spans.push((self.out, self.out + SCRATCH));
            }
            spans.sort_unstable();
            for pair in spans.windows(2) {
                ensure!(
                    pair[0].1 <= pair[1].0,
                    "live blocks {:#x} and {:#x} overlap",
                    pair[0].0,
                    pair[1].0
                );
            }
            if let Some(last) = spans.last() {
                ensure!(
                    last.1 <= s.heap_top,
                    "live block {:#x} ends above heap_top {:#x}",
                    last.0,
                    s.heap_top
                );
            }
            self.t.full_checks += 1;
        }
        self.t.checks += 1;
        Ok(())
    }
}

/// The pattern of block `id`, by 8-byte words (little-endian): word `i` is
/// `mix(id) ^ (i % 32) * K1`, and the first word of every 256-byte chunk also carries the chunk's
/// number (`^ (i / 32) * K2`), so that a copy shifted by whole chunks does not match. Filling and
/// checking go by 256-byte chunks (memcpy/memcmp): fast even in the dev profile.
const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const CHUNK: usize = 256;

fn template(id: u64) -> [u8; CHUNK] {
    let base = mix(id);
    let mut t = [0u8; CHUNK];
    for (i, w) in t.chunks_exact_mut(8).enumerate() {
        w.copy_from_slice(&(base ^ (i as u64).wrapping_mul(K1)).to_le_bytes());
    }
    t
}

/// The first word of chunk `j`.
fn chunk_head(t: &[u8; CHUNK], j: usize) -> [u8; 8] {
    let w = u64::from_le_bytes(t[..8].try_into().unwrap()) ^ (j as u64).wrapping_mul(K2);
    w.to_le_bytes()
}

fn pattern_byte(id: u64, i: usize) -> u8 {
    let t = template(id);
    if i % CHUNK < 8 {
        chunk_head(&t, i / CHUNK)[i % 8]
    } else {
        t[i % CHUNK]
    }
}

fn fill_pattern(dst: &mut [u8], id: u64) {
    let t = template(id);
    for (j, c) in dst.chunks_mut(CHUNK).enumerate() {
        let n = c.len();
        c.copy_from_slice(&t[..n]);
        let k = n.min(8);
        c[..k].copy_from_slice(&chunk_head(&t, j)[..k]);
    }
}

/// The first byte of `got` that differs from the pattern of `id`.
fn pattern_mismatch(got: &[u8], id: u64) -> Option<usize> {
    let t = template(id);
    for (j, c) in got.chunks(CHUNK).enumerate() {
        let n = c.len();
        let k = n.min(8);
        if c[..k] != chunk_head(&t, j)[..k] || c[k..] != t[k..n] {
            return (0..n)
                .find(|&i| c[i] != pattern_byte(id, j * CHUNK + i))
                .map(|i| j * CHUNK + i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_round_trip_and_locate_damage() {
        for len in [0usize, 1, 7, 8, 9, 255, 256, 257, 1000, 5000] {
            let mut buf = vec![0u8; len];
            fill_pattern(&mut buf, 42);
            assert_eq!(pattern_mismatch(&buf, 42), None, "len {len}");
            for (i, &b) in buf.iter().enumerate() {
                assert_eq!(b, pattern_byte(42, i));
            }
            if len > 0 {
                assert_eq!(
                    pattern_mismatch(&buf, 43),
                    Some(0),
                    "another block's pattern differs at once"
                );
                let at = len / 2;
                buf[at] ^= 0x10;
                assert_eq!(pattern_mismatch(&buf, 42), Some(at));
            }
        }
        // A copy shifted by a whole chunk does not pass.
        let mut buf = vec![0u8; 4 * CHUNK];
        fill_pattern(&mut buf, 5);
        buf.copy_within(CHUNK.., 0);
        assert_eq!(pattern_mismatch(&buf[..3 * CHUNK], 5), Some(0));
    }
}
