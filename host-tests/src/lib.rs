//! Harness for driving `wasm/wasmheap.wasm` from the host with wasmtime.
//!
//! * [`engine`] / [`module`]: one fuel-metered `Engine` and one compiled `Module` per process.
//! * [`Heap`]: a fresh instance (its own `Store`) with a typed function for every export of the
//!   raw ABI, memory helpers, fuel measurement and a run-time adjustable memory cap.
//! * [`Stats`]: the 16 `u32` fields written by `stats(out_ptr)`.
//! * [`model`]: a shadow model of the ABI used by the property test.
//!
//! `stats(out_ptr)` needs 64 bytes to write to, and the heap owns all memory from `heap_start`
//! up, so every `Heap` allocates a 64-byte *scratch* block with `allocate(64)` when it is created
//! and reads the statistics through it. [`Heap::stats`] subtracts the scratch block's share (one
//! live block, 64 live bytes, its allocations) so that tests see only their own blocks;
//! [`Heap::raw_stats`] returns the figures exactly as the module wrote them. `free_all()` at the
//! base floor releases the scratch block too: [`Heap::free_all`] allocates it again right away.

pub mod model;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wasmtime::{
    Config, Engine, Instance, Memory, Module, ResourceLimiter, Result, Store, TypedFunc,
    WasmParams, WasmResults,
};

/// The root of the repository, found at run time, not fixed at compile time, so that a moved or
/// copied checkout tests its own modules: `$WASMHEAP_ROOT` if set, else the nearest directory at
/// or above the current directory, then at or above the running executable, that holds `wasm/`
/// and the wasmheap crate's `Cargo.toml`.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        if let Some(root) = std::env::var_os("WASMHEAP_ROOT") {
            return PathBuf::from(root);
        }
        let is_root = |dir: &Path| {
            dir.join("wasm").is_dir()
                && std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|toml| toml.lines().any(|line| line.trim() == r#"name = "wasmheap""#))
        };
        [std::env::current_dir().ok(), std::env::current_exe().ok()]
            .into_iter()
            .flatten()
            .find_map(|start| start.ancestors().find(|dir| is_root(dir)).map(Path::to_path_buf))
            .unwrap_or_else(|| {
                panic!("cannot find the wasmheap repository above the current directory or this executable: run from inside the checkout, or set WASMHEAP_ROOT")
            })
    })
}

/// `relative` (e.g. "wasm/wasmheap.wasm") inside the repository (see [`repo_root`]).
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// The bytes of a file of the repository, such as a module in `wasm/`; a missing one panics with a
/// hint to build it.
pub fn read_repo_file(relative: &str) -> Vec<u8> {
    let path = repo_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run scripts/build)", path.display()))
}

/// Size of a wasm page.
pub const PAGE: u32 = 65536;

/// Default cap on linear memory for a [`Heap`]: generous, but far below 4 GiB so that huge
/// requests fail quickly instead of committing gigabytes.
pub const DEFAULT_CAP: usize = 256 << 20;

/// Fuel each call may burn (about one unit per wasm instruction). Every call starts with this
/// much, so that an allocator caught in a loop traps ("all fuel consumed") within a second or so
/// instead of hanging the test.
pub const CALL_FUEL: u64 = 1 << 30;

/// The process-wide engine, with fuel metering on.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(true);
        Engine::new(&config).expect("create wasmtime engine")
    })
}

/// The module to test: `$WASMHEAP_WASM` if set (another build or flavor), else
/// `wasm/wasmheap.wasm` of this repository.
pub fn wasm_path() -> String {
    std::env::var("WASMHEAP_WASM")
        .unwrap_or_else(|_| repo_path("wasm/wasmheap.wasm").display().to_string())
}

/// The bytes of the module under test (see [`wasm_path`]).
pub fn wasm_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = wasm_path();
        std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read {path}: {e} (build it with scripts/build)"))
    })
}

/// The compiled module, built once per process.
pub fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| Module::new(engine(), wasm_bytes()).expect("compile wasmheap.wasm"))
}

/// Whether the code of `wasm` executes `memory.grow` anywhere (any function, any memory).
pub fn has_memory_grow(wasm: &[u8]) -> bool {
    use wasmparser::{Operator, Parser, Payload};
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.expect("parse the module") {
            let mut ops = body.get_operators_reader().expect("read a function body");
            while !ops.eof() {
                if let Operator::MemoryGrow { .. } = ops.read().expect("read an instruction") {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether the module under test is a fixed pool that never grows memory (the static flavor,
/// `wasm/wasmheap-static.wasm`): its code has no `memory.grow`. The suite's tests that count on
/// growth check the pool's behaviour instead when this is true.
pub fn static_pool() -> bool {
    static STATIC: OnceLock<bool> = OnceLock::new();
    *STATIC.get_or_init(|| !has_memory_grow(wasm_bytes()))
}

/// Whether the module under test is the debug flavor (`wasm/wasmheap-debug.wasm`: it exports
/// `debug_buffer`). Its allocations are [`DEBUG_EXTRA`] bytes larger inside (canary, id, tag):
/// tests that count bytes of blocks use [`block_of`].
pub fn debug_flavor() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| module().get_export("debug_buffer").is_some())
}

/// Bytes the debug flavor adds to every request (src/debug/mod.rs).
pub const DEBUG_EXTRA: u32 = 12;

/// The size of the block that holds a request of `request` bytes in the module under test.
pub fn block_of(request: u32) -> u32 {
    let extra = if debug_flavor() { DEBUG_EXTRA } else { 0 };
    ((request + extra + 8 + 7) & !7).max(16)
}

/// A `ResourceLimiter` that refuses `memory.grow` beyond `max_bytes`. Tests change `max_bytes`
/// at run time (see [`Heap::set_cap`], [`Heap::freeze_growth`]) to make growth fail and then
/// succeed again. It also counts the growths it granted and refused.
#[derive(Debug)]
pub struct CapLimiter {
    pub max_bytes: usize,
    /// `memory_growing` calls that asked for more memory and were allowed (after instantiation:
    /// `memory.grow` calls that succeeded).
    pub granted: u32,
    /// `memory_growing` calls that were refused.
    pub refused: u32,
}

impl ResourceLimiter for CapLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        let ok = desired <= self.max_bytes && maximum.is_none_or(|m| desired <= m);
        if !ok {
            self.refused += 1;
        } else if desired > current {
            self.granted += 1;
        }
        Ok(ok)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> Result<bool> {
        Ok(true)
    }
}

/// Data kept in each `Store`.
#[derive(Debug)]
pub struct State {
    pub limiter: CapLimiter,
}

/// The statistics struct written by `stats(out_ptr)`: 16 `u32`, in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub live_blocks: u32,
    pub live_bytes: u32,
    pub peak_live_bytes: u32,
    pub heap_bytes: u32,
    pub free_bytes: u32,
    pub largest_free: u32,
    pub allocations: u32,
    pub frees: u32,
    pub reallocations: u32,
    pub failures: u32,
    pub rejected_frees: u32,
    pub rejected_marks: u32,
    pub mark_depth: u32,
    pub memory_grows: u32,
    pub heap_start: u32,
    pub heap_top: u32,
}

impl Stats {
    pub const NAMES: [&'static str; 16] = [
        "live_blocks",
        "live_bytes",
        "peak_live_bytes",
        "heap_bytes",
        "free_bytes",
        "largest_free",
        "allocations",
        "frees",
        "reallocations",
        "failures",
        "rejected_frees",
        "rejected_marks",
        "mark_depth",
        "memory_grows",
        "heap_start",
        "heap_top",
    ];

    pub fn from_words(w: [u32; 16]) -> Stats {
        Stats {
            live_blocks: w[0],
            live_bytes: w[1],
            peak_live_bytes: w[2],
            heap_bytes: w[3],
            free_bytes: w[4],
            largest_free: w[5],
            allocations: w[6],
            frees: w[7],
            reallocations: w[8],
            failures: w[9],
            rejected_frees: w[10],
            rejected_marks: w[11],
            mark_depth: w[12],
            memory_grows: w[13],
            heap_start: w[14],
            heap_top: w[15],
        }
    }

    pub fn to_words(&self) -> [u32; 16] {
        [
            self.live_blocks,
            self.live_bytes,
            self.peak_live_bytes,
            self.heap_bytes,
            self.free_bytes,
            self.largest_free,
            self.allocations,
            self.frees,
            self.reallocations,
            self.failures,
            self.rejected_frees,
            self.rejected_marks,
            self.mark_depth,
            self.memory_grows,
            self.heap_start,
            self.heap_top,
        ]
    }

    /// A two-column table, one field a line.
    pub fn table(&self) -> String {
        let mut s = String::new();
        for (name, v) in Self::NAMES.iter().zip(self.to_words()) {
            s += &format!("  {name:<16} {v:>12}\n");
        }
        s
    }
}

/// The statistic a rejected call must increment (see [`Heap::assert_rejected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    None,
    RejectedFrees,
    RejectedMarks,
    Failures,
}

/// Size of the scratch block that `stats(out_ptr)` writes into.
pub const SCRATCH: u32 = 64;

/// One instance of the module in its own store.
pub struct Heap {
    pub store: Store<State>,
    pub instance: Instance,
    pub memory: Memory,
    f_allocate: TypedFunc<u32, u32>,
    f_allocate_aligned: TypedFunc<(u32, u32), u32>,
    f_deallocate: TypedFunc<u32, ()>,
    f_reallocate: TypedFunc<(u32, u32), u32>,
    f_size: TypedFunc<u32, u32>,
    f_free_all: TypedFunc<(), ()>,
    f_free_all_mark: TypedFunc<(), ()>,
    f_free_get_mark: TypedFunc<(), u32>,
    f_free_to_mark: TypedFunc<u32, ()>,
    f_check: TypedFunc<(), u32>,
    f_stats: TypedFunc<u32, ()>,
    scratch: u32,
    scratch_allocations: u32,
    fuel_used: u64,
    /// The end of the static flavor's pool (None: the heap runs to the end of memory).
    pool_end: Option<u32>,
}

/// Every export of the raw ABI, as (name, parameter count, result count).
pub const ABI: [(&str, usize, usize); 11] = [
    ("allocate", 1, 1),
    ("allocate_aligned", 2, 1),
    ("deallocate", 1, 0),
    ("reallocate", 2, 1),
    ("size", 1, 1),
    ("free_all", 0, 0),
    ("free_all_mark", 0, 0),
    ("free_get_mark", 0, 1),
    ("free_to_mark", 1, 0),
    ("check", 0, 1),
    ("stats", 1, 0),
];

/// The C names that `wasm/wasmheap-c.wasm` and the import-memory flavor export beside the raw ABI.
pub const C_NAMES: [(&str, usize, usize); 6] = [
    ("malloc", 1, 1),
    ("free", 1, 0),
    ("calloc", 2, 1),
    ("realloc", 2, 1),
    ("aligned_alloc", 2, 1),
    ("posix_memalign", 3, 1),
];

fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    store: &mut Store<State>,
    instance: &Instance,
    name: &str,
) -> TypedFunc<P, R> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .unwrap_or_else(|e| panic!("export `{name}` missing or of the wrong type: {e}"))
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
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
            Some(wasmtime::ExternType::Memory(m)) if pool => {
                max_bytes.max(m.minimum() as usize * PAGE as usize)
            }
            _ => max_bytes,
        };
        let limiter = CapLimiter {
            max_bytes,
            granted: 0,
            refused: 0,
        };
        let mut store = Store::new(engine(), State { limiter });
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(CALL_FUEL).expect("fuel is enabled");
        let instance = Instance::new(&mut store, module, &[]).expect("instantiate wasmheap");
        // Creating the memory went through the limiter too: count only the module's own growth.
        store.data_mut().limiter.granted = 0;
        let memory = instance
            .get_memory(&mut store, "memory")
            .expect("export `memory` missing");
        let s = &mut store;
        let i = &instance;
        let mut heap = Heap {
            f_allocate: func(s, i, "allocate"),
            f_allocate_aligned: func(s, i, "allocate_aligned"),
            f_deallocate: func(s, i, "deallocate"),
            f_reallocate: func(s, i, "reallocate"),
            f_size: func(s, i, "size"),
            f_free_all: func(s, i, "free_all"),
            f_free_all_mark: func(s, i, "free_all_mark"),
            f_free_get_mark: func(s, i, "free_get_mark"),
            f_free_to_mark: func(s, i, "free_to_mark"),
            f_check: func(s, i, "check"),
            f_stats: func(s, i, "stats"),
            store,
            instance,
            memory,
            scratch: 0,
            scratch_allocations: 0,
            fuel_used: 0,
            pool_end: None,
        };
        heap.alloc_scratch();
        if pool {
            let s = heap.raw_stats();
            heap.pool_end = Some(s.heap_start + s.heap_bytes);
        }
        heap
    }

    fn alloc_scratch(&mut self) {
        let p = self.allocate(SCRATCH);
        assert!(
            p != 0,
            "allocate({SCRATCH}) for the stats scratch block returned 0"
        );
        self.scratch = p;
        self.scratch_allocations += 1;
    }

    /// Calls `f` with a fresh fuel budget of [`CALL_FUEL`] and adds what it burnt to
    /// `fuel_used`. A trap (including running out of fuel) panics with `what`.
    fn invoke<P: WasmParams, R: WasmResults>(
        &mut self,
        f: TypedFunc<P, R>,
        args: P,
        what: impl FnOnce() -> String,
    ) -> R {
        self.store.set_fuel(CALL_FUEL).expect("fuel is enabled");
        let r = f.call(&mut self.store, args);
        self.fuel_used += CALL_FUEL - self.store.get_fuel().expect("fuel is enabled");
        r.unwrap_or_else(|e| panic!("{} trapped: {e:?}", what()))
    }

    // ---- the raw ABI -------------------------------------------------------------------------

    pub fn allocate(&mut self, size: u32) -> u32 {
        self.invoke(self.f_allocate.clone(), size, || {
            format!("allocate({size:#x})")
        })
    }

    pub fn allocate_aligned(&mut self, size: u32, align: u32) -> u32 {
        let f = self.f_allocate_aligned.clone();
        self.invoke(f, (size, align), || {
            format!("allocate_aligned({size:#x}, {align:#x})")
        })
    }

    pub fn deallocate(&mut self, ptr: u32) {
        self.invoke(self.f_deallocate.clone(), ptr, || {
            format!("deallocate({ptr:#x})")
        })
    }

    pub fn reallocate(&mut self, ptr: u32, size: u32) -> u32 {
        let f = self.f_reallocate.clone();
        self.invoke(f, (ptr, size), || {
            format!("reallocate({ptr:#x}, {size:#x})")
        })
    }

    pub fn size(&mut self, ptr: u32) -> u32 {
        self.invoke(self.f_size.clone(), ptr, || format!("size({ptr:#x})"))
    }

    /// `free_all()`; if that released the scratch block (floor at the base), allocates it again.
    pub fn free_all(&mut self) {
        self.free_all_raw();
        if self.size(self.scratch) != SCRATCH {
            self.alloc_scratch();
        }
    }

    /// `free_all()` alone. The scratch block may be gone afterwards: call [`Heap::free_all`]
    /// unless this is the last call on the heap or a fuel measurement.
    pub fn free_all_raw(&mut self) {
        self.invoke(self.f_free_all.clone(), (), || "free_all()".into())
    }

    pub fn free_all_mark(&mut self) {
        self.invoke(self.f_free_all_mark.clone(), (), || {
            "free_all_mark()".into()
        })
    }

    pub fn free_get_mark(&mut self) -> u32 {
        self.invoke(self.f_free_get_mark.clone(), (), || {
            "free_get_mark()".into()
        })
    }

    pub fn free_to_mark(&mut self, mark: u32) {
        self.invoke(self.f_free_to_mark.clone(), mark, || {
            format!("free_to_mark({mark:#x})")
        })
    }

    pub fn check(&mut self) -> u32 {
        self.invoke(self.f_check.clone(), (), || "check()".into())
    }

    /// `stats(out_ptr)` into `out_ptr`, decoded. `out_ptr` must be a live block of 64 bytes.
    pub fn stats_at(&mut self, out_ptr: u32) -> Stats {
        self.invoke(self.f_stats.clone(), out_ptr, || {
            format!("stats({out_ptr:#x})")
        });
        let mut w = [0u32; 16];
        for (i, w) in w.iter_mut().enumerate() {
            *w = self.read_u32(out_ptr + 4 * i as u32);
        }
        Stats::from_words(w)
    }

    /// The statistics exactly as the module reports them (the scratch block included).
    pub fn raw_stats(&mut self) -> Stats {
        self.stats_at(self.scratch)
    }

    /// The statistics with the scratch block's share taken out: what the test's own calls did.
    pub fn stats(&mut self) -> Stats {
        let mut s = self.raw_stats();
        let scratch_allocs = self.scratch_allocations;
        let sub = |v: u32, by: u32, what: &str| {
            v.checked_sub(by).unwrap_or_else(|| {
                panic!("stats: {what} = {v} is less than the scratch block's share {by}")
            })
        };
        s.live_blocks = sub(s.live_blocks, 1, "live_blocks");
        s.live_bytes = sub(s.live_bytes, SCRATCH, "live_bytes");
        s.peak_live_bytes = sub(s.peak_live_bytes, SCRATCH, "peak_live_bytes");
        s.allocations = sub(s.allocations, scratch_allocs, "allocations");
        s
    }

    /// The scratch block that `stats` writes into (live, 64 bytes).
    pub fn scratch(&self) -> u32 {
        self.scratch
    }

    /// How many times the scratch block was allocated (1, plus one per `free_all` that freed it).
    pub fn scratch_allocations(&self) -> u32 {
        self.scratch_allocations
    }

    // ---- memory ------------------------------------------------------------------------------

    /// The end of what the heap manages: the end of memory, or of the static flavor's pool.
    pub fn heap_end(&self) -> u32 {
        self.pool_end.unwrap_or_else(|| self.mem_size())
    }

    /// Whether this heap is a fixed pool (the static flavor): memory never grows.
    pub fn is_pool(&self) -> bool {
        self.pool_end.is_some()
    }

    /// Current size of linear memory in bytes.
    pub fn mem_size(&self) -> u32 {
        u32::try_from(self.memory.data_size(&self.store)).expect("memory below 4 GiB")
    }

    pub fn mem(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    pub fn mem_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    pub fn read(&self, ptr: u32, len: u32) -> &[u8] {
        &self.mem()[ptr as usize..ptr as usize + len as usize]
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) {
        let p = ptr as usize;
        self.mem_mut()[p..p + bytes.len()].copy_from_slice(bytes);
    }

    pub fn fill(&mut self, ptr: u32, len: u32, byte: u8) {
        let p = ptr as usize;
        self.mem_mut()[p..p + len as usize].fill(byte);
    }

    pub fn read_u32(&self, ptr: u32) -> u32 {
        u32::from_le_bytes(self.read(ptr, 4).try_into().unwrap())
    }

    pub fn write_u32(&mut self, ptr: u32, v: u32) {
        self.write(ptr, &v.to_le_bytes())
    }

    /// A copy of the whole linear memory.
    pub fn snapshot(&self) -> Vec<u8> {
        self.mem().to_vec()
    }

    // ---- limits and fuel ---------------------------------------------------------------------

    pub fn limiter(&self) -> &CapLimiter {
        &self.store.data().limiter
    }

    pub fn limiter_mut(&mut self) -> &mut CapLimiter {
        &mut self.store.data_mut().limiter
    }

    /// Allows memory to grow up to `max_bytes` from now on.
    pub fn set_cap(&mut self, max_bytes: usize) {
        self.limiter_mut().max_bytes = max_bytes;
    }

    /// Refuses every further `memory.grow` (the cap becomes the current size).
    pub fn freeze_growth(&mut self) {
        let size = self.mem_size() as usize;
        self.set_cap(size);
    }

    /// Allows growth again, up to [`DEFAULT_CAP`].
    pub fn unfreeze_growth(&mut self) {
        self.set_cap(DEFAULT_CAP);
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

    // ---- helpers for tests -------------------------------------------------------------------

    /// Allocates `size`-byte blocks, each filled with its index, until `allocate` returns 0 (which
    /// must happen within `most` blocks); returns them.
    pub fn fill_up(&mut self, size: u32, most: usize) -> Vec<u32> {
        let mut v = Vec::new();
        loop {
            let p = self.allocate(size);
            if p == 0 {
                return v;
            }
            self.fill(p, size, v.len() as u8);
            v.push(p);
            assert!(v.len() < most, "allocate({size}) did not fail within {most} blocks");
        }
    }

    /// `allocate(size)`, asserting success, and fills the block with `byte`.
    pub fn alloc_filled(&mut self, size: u32, byte: u8) -> u32 {
        let p = self.allocate(size);
        assert!(p != 0, "allocate({size}) returned 0");
        self.fill(p, size, byte);
        p
    }

    /// Asserts that `[ptr, ptr+len)` holds only `byte`.
    #[track_caller]
    pub fn assert_filled(&self, ptr: u32, len: u32, byte: u8) {
        let bytes = self.read(ptr, len);
        if let Some(i) = bytes.iter().position(|&b| b != byte) {
            panic!(
                "block {ptr:#x} (len {len}): byte {i} is {:#04x}, expected {byte:#04x}",
                bytes[i]
            );
        }
    }

    /// Runs `f`, a call that must be rejected, and asserts that nothing changed but `counter`:
    /// the heap's memory is the same (but for the counter's own word), every statistic is the
    /// same except `counter`, which went up by exactly one, and `check() == 0`. With
    /// [`Counter::None`] nothing at all may change (a no-op such as `deallocate(0)`).
    #[track_caller]
    pub fn assert_rejected<R>(
        &mut self,
        what: &str,
        counter: Counter,
        f: impl FnOnce(&mut Heap) -> R,
    ) -> R {
        let before = self.stats();
        let snap = self.snapshot();
        let r = f(self);
        let snap_after = self.snapshot();
        let hs = before.heap_start as usize;
        let mut expected = before;
        match counter {
            Counter::None => {
                let d = diff_words(&snap[hs..], &snap_after[hs..]);
                assert!(
                    d.is_empty(),
                    "{what}: heap memory changed: {:x?}",
                    &d[..d.len().min(8)]
                );
            }
            Counter::RejectedFrees => expected.rejected_frees += 1,
            Counter::RejectedMarks => expected.rejected_marks += 1,
            Counter::Failures => expected.failures += 1,
        }
        if counter != Counter::None {
            assert_heap_unchanged_but_counter(&snap, &snap_after, before.heap_start);
        }
        let after = self.stats();
        assert_eq!(
            after, expected,
            "{what}: statistics (left: after, right: expected)"
        );
        let code = self.check();
        assert_eq!(code, 0, "{what}: check() = {code}");
        r
    }

    /// Asserts `check() == 0`.
    #[track_caller]
    pub fn assert_sound(&mut self) {
        let code = self.check();
        assert_eq!(code, 0, "check() = {code}: the heap is broken");
    }
}

/// Differences between two memory snapshots as (offset, old word, new word) for each 4-byte
/// aligned word that differs, over the common length.
pub fn diff_words(before: &[u8], after: &[u8]) -> Vec<(u32, u32, u32)> {
    let n = before.len().min(after.len()) / 4 * 4;
    let word = |m: &[u8], i: usize| u32::from_le_bytes(m[i..i + 4].try_into().unwrap());
    (0..n)
        .step_by(4)
        .filter(|&i| before[i..i + 4] != after[i..i + 4])
        .map(|i| (i as u32, word(before, i), word(after, i)))
        .collect()
}

/// Asserts that the heap's memory (from `heap_start` to the end) is the same in both snapshots,
/// except possibly for one 4-byte word that went up by exactly 1 (the allocator's own
/// rejection counter, if it keeps its counters in the heap region).
#[track_caller]
pub fn assert_heap_unchanged_but_counter(before: &[u8], after: &[u8], heap_start: u32) {
    assert_eq!(before.len(), after.len(), "memory size changed");
    let hs = heap_start as usize;
    let d = diff_words(&before[hs..], &after[hs..]);
    let ok = d.is_empty() || (d.len() == 1 && d[0].2 == d[0].1.wrapping_add(1));
    assert!(
        ok,
        "heap memory changed: {:?} (offset from heap_start {heap_start:#x}, old, new)",
        &d[..d.len().min(16)]
    );
}

/// A tiny deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }
}

/// `len` bytes of a pattern determined by `id` (distinct ids give distinct patterns).
pub fn pattern(id: u64, len: u32) -> Vec<u8> {
    let mut rng = XorShift::new(id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03);
    let mut v = Vec::with_capacity(len as usize + 8);
    while v.len() < len as usize {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v.truncate(len as usize);
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_repository_root_is_found_at_run_time() {
        let root = super::repo_root();
        assert!(
            root.join("wasm/wasmheap.wasm").is_file(),
            "{}",
            root.display()
        );
        if std::env::var_os("WASMHEAP_ROOT").is_none() {
            // cargo test runs this in host-tests/: the root is the directory above, wherever the
            // checkout is now (not where it was when this was compiled).
            let above = std::env::current_dir().unwrap().join("..");
            assert_eq!(
                std::fs::canonicalize(root).unwrap(),
                std::fs::canonicalize(above).unwrap()
            );
        }
    }
}
