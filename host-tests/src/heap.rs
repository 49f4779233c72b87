//! The test harness: a fresh [`Instance`] of the module under test (own memory) whose calls panic
//! on a trap, with its statistics read through a scratch block.
//!
//! `stats(out_ptr)` needs 64 bytes to write to, and the heap owns all memory from `heap_start`
//! up, so every `Heap` allocates a 64-byte *scratch* block with `allocate(64)` when it is created
//! and reads the statistics through it. [`Heap::stats`] subtracts the scratch block's share (one
//! live block, 64 live bytes, its allocations) so that tests see only their own blocks;
//! [`Heap::raw_stats`] returns the figures exactly as the module wrote them. `free_all()` at the
//! base floor releases the scratch block too: [`Heap::free_all`] allocates it again right away.
//!
//! A `Heap` is an [`Instance`] (memory, limits, fuel and the wasmtime handles are the instance's)
//! whose raw ABI panics on a trap instead of returning an `Err` (`allocate` for `try_allocate`).

use crate::{Instance, Layout, Limiter, PAGE, Rng, Stats, module, static_pool};
use wasmtime::Module;

/// Default cap on linear memory for a [`Heap`]: generous, but far below 4 GiB so that huge
/// requests fail quickly instead of committing gigabytes.
pub const DEFAULT_CAP: usize = 256 << 20;

/// Size of the scratch block that `stats(out_ptr)` writes into.
pub const SCRATCH: u32 = 64;

/// What the test harness keeps beside its instance.
pub struct Scratch {
    /// The scratch block that `stats` writes into.
    ptr: u32,
    /// How many times it was allocated.
    allocations: u32,
    /// The end of the static flavor's pool (None: the heap runs to the end of memory).
    pool_end: Option<u32>,
}

/// The test harness: an [`Instance`] of a module with its own memory, with a scratch block.
pub type Heap = Instance<Scratch>;

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

/// The value of a call, or a panic with its trap.
fn ok<R>(r: Result<R, String>) -> R {
    r.unwrap_or_else(|e| panic!("{e}"))
}

impl Heap {
    /// A fresh heap whose memory may grow up to [`DEFAULT_CAP`].
    pub fn new() -> Heap {
        Self::with_cap(DEFAULT_CAP)
    }

    /// A fresh heap whose memory may grow up to `max_bytes`. For the static flavor, whose
    /// memory never grows, a cap below its initial memory (which holds the pool) is raised to it.
    pub fn with_cap(max_bytes: usize) -> Heap {
        Self::of(module(), static_pool(), max_bytes)
    }

    /// A fresh instance of `module` (any module with the raw ABI and its own memory) whose
    /// memory may grow up to `max_bytes`; `pool`: the module is a fixed pool that never grows
    /// (then a cap below its initial memory is raised to it).
    pub fn of(module: &Module, pool: bool, max_bytes: usize) -> Heap {
        let max_bytes = match module.get_export("memory") {
            Some(wasmtime::ExternType::Memory(m)) if pool => max_bytes.max(m.minimum() as usize * PAGE as usize),
            _ => max_bytes,
        };
        let limiter = Limiter::new(max_bytes, Rng::seeded(0));
        let inst = ok(Instance::instantiate(module, Layout::Own, limiter));
        let mut heap = inst.with_harness(Scratch { ptr: 0, allocations: 0, pool_end: None });
        heap.alloc_scratch();
        if pool {
            let s = heap.raw_stats();
            heap.harness.pool_end = Some(s.heap_start + s.heap_bytes);
        }
        heap
    }

    fn alloc_scratch(&mut self) {
        let p = self.allocate(SCRATCH);
        assert!(p != 0, "allocate({SCRATCH}) for the stats scratch block returned 0");
        self.harness.ptr = p;
        self.harness.allocations += 1;
    }

    // ---- the raw ABI, panicking on a trap ----------------------------------------------------

    pub fn allocate(&mut self, size: u32) -> u32 {
        ok(self.try_allocate(size))
    }

    pub fn allocate_aligned(&mut self, size: u32, align: u32) -> u32 {
        ok(self.try_allocate_aligned(size, align))
    }

    pub fn deallocate(&mut self, ptr: u32) {
        ok(self.try_deallocate(ptr))
    }

    pub fn reallocate(&mut self, ptr: u32, size: u32) -> u32 {
        ok(self.try_reallocate(ptr, size))
    }

    pub fn size(&mut self, ptr: u32) -> u32 {
        ok(self.try_size(ptr))
    }

    /// `free_all()`; if that released the scratch block (floor at the base), allocates it again.
    pub fn free_all(&mut self) {
        self.free_all_raw();
        if self.size(self.harness.ptr) != SCRATCH {
            self.alloc_scratch();
        }
    }

    /// `free_all()` alone. The scratch block may be gone afterwards: call [`Heap::free_all`]
    /// unless this is the last call on the heap or a fuel measurement.
    pub fn free_all_raw(&mut self) {
        ok(self.try_free_all())
    }

    pub fn free_all_mark(&mut self) {
        ok(self.try_free_all_mark())
    }

    pub fn free_get_mark(&mut self) -> u32 {
        ok(self.try_free_get_mark())
    }

    pub fn free_to_mark(&mut self, mark: u32) {
        ok(self.try_free_to_mark(mark))
    }

    pub fn check(&mut self) -> u32 {
        ok(self.try_check())
    }

    /// `stats(out_ptr)` into `out_ptr`, decoded. `out_ptr` must be a live block of 64 bytes.
    pub fn stats_at(&mut self, out_ptr: u32) -> Stats {
        ok(self.try_stats(out_ptr))
    }

    // ---- statistics without the scratch block ------------------------------------------------

    /// The statistics exactly as the module reports them (the scratch block included).
    pub fn raw_stats(&mut self) -> Stats {
        self.stats_at(self.harness.ptr)
    }

    /// The statistics with the scratch block's share taken out: what the test's own calls did.
    pub fn stats(&mut self) -> Stats {
        let mut s = self.raw_stats();
        let scratch_allocs = self.harness.allocations;
        let sub = |v: u32, by: u32, what: &str| {
            v.checked_sub(by)
                .unwrap_or_else(|| panic!("stats: {what} = {v} is less than the scratch block's share {by}"))
        };
        s.live_blocks = sub(s.live_blocks, 1, "live_blocks");
        s.live_bytes = sub(s.live_bytes, SCRATCH, "live_bytes");
        if crate::debug_flavor() {
            s.peak_bytes = sub(s.peak_bytes, SCRATCH, "peak_bytes");
        }
        s.allocations = sub(s.allocations, scratch_allocs, "allocations");
        s
    }

    /// Asserts `stats().peak_bytes` for a test whose live bytes peaked at `peak_live`: exactly
    /// that in the debug flavor; elsewhere the most the heap spanned from its start, which holds
    /// at least those bytes and reaches at least the top.
    #[track_caller]
    pub fn assert_peak(&mut self, peak_live: u32) {
        let s = self.stats();
        if crate::debug_flavor() {
            assert_eq!(s.peak_bytes, peak_live, "peak of live bytes (debug flavor)");
        } else {
            assert!(
                s.peak_bytes >= peak_live + SCRATCH
                    && s.peak_bytes >= s.heap_top - s.heap_start
                    && s.peak_bytes <= s.heap_bytes,
                "peak_bytes {} against live {peak_live}: {s:?}",
                s.peak_bytes
            );
        }
    }

    /// The scratch block that `stats` writes into (live, 64 bytes).
    pub fn scratch(&self) -> u32 {
        self.harness.ptr
    }

    /// How many times the scratch block was allocated (1, plus one per `free_all` that freed it).
    pub fn scratch_allocations(&self) -> u32 {
        self.harness.allocations
    }

    /// The end of what the heap manages: the end of memory, or of the static flavor's pool.
    pub fn heap_end(&self) -> u32 {
        self.harness.pool_end.unwrap_or_else(|| self.mem_size())
    }

    /// Whether this heap is a fixed pool (the static flavor): memory never grows.
    pub fn is_pool(&self) -> bool {
        self.harness.pool_end.is_some()
    }

    /// Runs `f` and returns its result with the fuel its calls into the module consumed.
    pub fn fuel_of<R>(&mut self, f: impl FnOnce(&mut Heap) -> R) -> (R, u64) {
        let before = self.fuel_used;
        let r = f(self);
        (r, self.fuel_used - before)
    }

    /// Fuel burnt by every call so far.
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used
    }
}
