//! The shared flavor (`wasm/wasmheap-shared.wasm`) on OS threads: each thread has its own `Store`
//! and its own instance of the module over one `SharedMemory`, as each Web Worker or wasmtime
//! thread would, and every instance joins the heap with `init(REGION, 0)`. Used by
//! `tests/shared_memory.rs` and by the soak's threaded mode (`src/bin/soak/threads.rs`).
//!
//! [`random_program`] is one thread's share of a seeded random program over a [`Table`] shared by
//! the threads: every block is filled with a pattern that is checked before it is freed or moved,
//! and most blocks are freed by another thread than the one that allocated them;
//! [`check_after`] then compares `check()` and the statistics with what the threads counted.

use crate::{Rng, Stats, mix};
use std::cell::UnsafeCell;
use std::sync::{Mutex, OnceLock, RwLock};
use wasmtime::{Config, Engine, Instance, MemoryType, Module, SharedMemory, Store, TypedFunc, WasmParams, WasmResults};

pub const PAGE: u32 = 65536;
/// Where the heap's region starts (`init(REGION, 0)`): below it, each thread's 64 bytes for
/// `stats` (so at most 16 threads).
pub const REGION: u32 = 1024;
/// The 4 KiB at the start of the region that the module keeps (lock word, state, stack).
pub const HEADER: u32 = 4096;

/// The engine with threads and shared memory (no fuel: calls may wait on the heap's lock).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(|| Engine::new(Config::new().wasm_threads(true).shared_memory(true)).expect("engine with threads"))
}

/// A shared memory of one page that may grow to `max` pages.
pub fn memory(max: u32) -> SharedMemory {
    SharedMemory::new(engine(), MemoryType::shared(1, max)).expect("shared memory")
}

/// One thread's way into the heap: a store and an instance of its own.
pub struct Thread {
    pub store: Store<()>,
    pub instance: Instance,
    pub memory: SharedMemory,
    pub allocate: TypedFunc<u32, u32>,
    pub allocate_aligned: TypedFunc<(u32, u32), u32>,
    pub deallocate: TypedFunc<u32, ()>,
    pub reallocate: TypedFunc<(u32, u32), u32>,
    pub size: TypedFunc<u32, u32>,
}

impl Thread {
    /// A new instance of `module` over `memory`, not yet `init`. O(instantiation).
    pub fn bare(module: &Module, memory: &SharedMemory) -> Thread {
        let mut store = Store::new(engine(), ());
        let instance = Instance::new(&mut store, module, &[memory.clone().into()]).expect("instantiate");
        let f = |store: &mut Store<()>, name| instance.get_func(&mut *store, name).expect(name);
        Thread {
            allocate: f(&mut store, "allocate").typed(&store).unwrap(),
            allocate_aligned: f(&mut store, "allocate_aligned").typed(&store).unwrap(),
            deallocate: f(&mut store, "deallocate").typed(&store).unwrap(),
            reallocate: f(&mut store, "reallocate").typed(&store).unwrap(),
            size: f(&mut store, "size").typed(&store).unwrap(),
            store,
            instance,
            memory: memory.clone(),
        }
    }

    /// A new instance over `memory` that joined (or set up) the heap at `init(REGION, 0)`; it may
    /// block on the heap's lock (`set_may_block(1)`) or only spin. O(instantiation).
    pub fn join(module: &Module, memory: &SharedMemory, may_block: bool) -> Thread {
        let mut t = Thread::bare(module, memory);
        t.call::<u32, ()>("set_may_block", may_block as u32);
        assert_eq!(t.call::<(u32, u32), u32>("init", (REGION, 0)), 1, "init({REGION}, 0)");
        t
    }

    /// Calls export `name`; panics on a trap.
    pub fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, args: P) -> R {
        self.try_call(name, args).unwrap_or_else(|e| panic!("{name}: {e:?}"))
    }

    /// Calls export `name`; `Err` on a trap or a missing export.
    pub fn try_call<P: WasmParams, R: WasmResults>(&mut self, name: &str, args: P) -> wasmtime::Result<R> {
        let f = self.instance.get_typed_func::<P, R>(&mut self.store, name)?;
        f.call(&mut self.store, args)
    }

    /// `check()`: O(blocks + marks) in the module.
    pub fn check(&mut self) -> u32 {
        self.call("check", ())
    }

    /// `stats` into thread `tid`'s 64 bytes below the region (`tid` < 16).
    pub fn stats(&mut self, tid: usize) -> Stats {
        let out = 64 * tid as u32;
        self.call::<u32, ()>("stats", out);
        let bytes = self.read(out, 64);
        Stats::from_words(std::array::from_fn(|i| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap())))
    }

    fn data(&self, at: u32, len: u32) -> &[UnsafeCell<u8>] {
        &self.memory.data()[at as usize..(at + len) as usize]
    }

    /// Writes `bytes` at `at`: a live block this thread holds, or its own scratch. O(len).
    pub fn write(&self, at: u32, bytes: &[u8]) {
        let cells = self.data(at, bytes.len() as u32);
        // SAFETY: the bytes are a live block this thread holds (its slot's mutex) or its own
        // scratch: no other thread reads or writes them meanwhile.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), cells[0].get(), bytes.len()) }
    }

    /// Reads `len` bytes at `at`, as [`Thread::write`] may write them. O(len).
    pub fn read(&self, at: u32, len: u32) -> Vec<u8> {
        let cells = self.data(at, len);
        let mut out = vec![0; len as usize];
        // SAFETY: as in `write`.
        unsafe { std::ptr::copy_nonoverlapping(cells[0].get(), out.as_mut_ptr(), len as usize) }
        out
    }
}

/// A block in the shared table: where, the size asked, the seed of its pattern, and the thread
/// that allocated (or last moved) it.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub ptr: u32,
    pub size: u32,
    pub seed: u64,
    pub owner: usize,
}

/// The pattern of a block of `len` bytes with seed `seed`. O(len).
pub fn pattern(seed: u64, len: u32) -> Vec<u8> {
    (0..len as u64).map(|i| (mix(seed ^ (i / 8)) >> (8 * (i % 8))) as u8).collect()
}

/// The blocks the threads share, a slot a mutex; and the gate: every operation holds it shared,
/// a double free holds it alone (between the two frees no thread may get the block again).
pub struct Table {
    pub slots: Vec<Mutex<Option<Block>>>,
    pub gate: RwLock<()>,
}

impl Table {
    /// An empty table of `slots` slots. O(slots).
    pub fn new(slots: usize) -> Table {
        Table { slots: (0..slots).map(|_| Mutex::new(None)).collect(), gate: RwLock::new(()) }
    }

    /// The live blocks. O(slots).
    pub fn live(&self) -> Vec<Block> {
        self.slots.iter().filter_map(|s| *s.lock().unwrap()).collect()
    }
}

/// What one thread did, to be compared with the statistics.
#[derive(Clone, Default, Debug)]
pub struct Counts {
    pub ops: u64,
    pub allocations: u32,
    pub frees: u32,
    pub reallocations: u32,
    /// Blocks this thread freed or moved that another thread had allocated (or moved).
    pub foreign: u32,
    /// Bad pointers given to `deallocate` or `reallocate` (all must be rejected and counted).
    pub rejected_frees: u32,
    /// Bad pointers that `size()` took for live blocks, not freed (check bits: at most 2^-19 each).
    pub false_accepts: u32,
}

impl Counts {
    /// Adds `o`'s counts to these.
    pub fn add(&mut self, o: &Counts) {
        self.ops += o.ops;
        self.allocations += o.allocations;
        self.frees += o.frees;
        self.reallocations += o.reallocations;
        self.foreign += o.foreign;
        self.rejected_frees += o.rejected_frees;
        self.false_accepts += o.false_accepts;
    }
}

/// Gives `bad` to `deallocate` (and, if `realloc`, to `reallocate`, which must return 0) unless
/// `size()` takes it for a live block: then it is counted as a false accept and left alone.
fn reject(t: &mut Thread, c: &mut Counts, bad: u32, realloc: bool) {
    if t.size.call(&mut t.store, bad).unwrap() != 0 {
        c.false_accepts += 1;
        return;
    }
    t.deallocate.call(&mut t.store, bad).unwrap();
    c.rejected_frees += 1;
    if realloc {
        assert_eq!(t.reallocate.call(&mut t.store, (bad, 64)).unwrap(), 0, "reallocate({bad:#x}, 64) of a bad pointer");
        c.rejected_frees += 1;
    }
}

/// Thread `tid`'s `ops` random operations on `table`: allocate, allocate_aligned, reallocate,
/// free, size; each block's pattern is checked before it is freed or moved. With `bad`, one
/// operation in twenty is bad input: half of them a double free (the gate held alone), half five
/// foreign pointers (misaligned, interior, in the module's header, below the region, past memory),
/// each to `deallocate` and half of them to `reallocate` too. Panics on a
/// wrong result. O(ops · block size).
pub fn random_program(t: &mut Thread, table: &Table, tid: usize, ops: u64, seed: u64, bad: bool) -> Counts {
    let mut rng = Rng::new(seed, tid as u64);
    let mut c = Counts { ops, ..Counts::default() };
    for op in 0..ops {
        let double_free = bad && rng.chance(1, 40);
        let foreign = bad && !double_free && rng.chance(1, 39);
        // Held to the end of the operation: shared, or alone for a double free.
        let (_shared, _alone) = match double_free {
            true => (None, Some(table.gate.write().unwrap())),
            false => (Some(table.gate.read().unwrap()), None),
        };
        let slot = &table.slots[rng.index(table.slots.len())];
        let mut slot = slot.lock().unwrap();
        let block_seed = seed ^ ((tid as u64) << 40) ^ op;
        match *slot {
            None => {
                let size = if rng.chance(1, 20) { rng.range(4096, 40000) } else { rng.range(1, 300) };
                let (ptr, align) = if rng.chance(1, 5) {
                    let align = 1 << rng.range(3, 12);
                    ((t.allocate_aligned.call(&mut t.store, (size, align)).unwrap()), align)
                } else {
                    (t.allocate.call(&mut t.store, size).unwrap(), 8)
                };
                assert!(ptr != 0, "thread {tid}: allocate({size}) failed");
                assert!(ptr.is_multiple_of(align), "thread {tid}: {ptr:#x} is not {align}-aligned");
                assert!(ptr >= REGION + HEADER, "thread {tid}: {ptr:#x} lies in the header");
                c.allocations += 1;
                t.write(ptr, &pattern(block_seed, size));
                *slot = Some(Block { ptr, size, seed: block_seed, owner: tid });
            }
            Some(b) => {
                assert!(t.read(b.ptr, b.size) == pattern(b.seed, b.size), "thread {tid}: block {b:?} was overwritten");
                if foreign {
                    // Never a block's start while this thread holds the block.
                    let interior = if b.size >= 16 { b.ptr + 8 } else { b.ptr + 3 };
                    for bad in [b.ptr + 3, interior, REGION + 16, 8, u32::MAX - 7] {
                        reject(t, &mut c, bad, rng.chance(1, 2));
                    }
                    continue;
                }
                let action = if double_free { 0 } else { rng.below(10) };
                c.foreign += (b.owner != tid && action < 8) as u32;
                match action {
                    0..5 => {
                        t.deallocate.call(&mut t.store, b.ptr).unwrap();
                        c.frees += 1;
                        *slot = None;
                        if double_free {
                            // No other thread runs: the block cannot have been handed out again.
                            reject(t, &mut c, b.ptr, true);
                        }
                    }
                    5..8 => {
                        let size = rng.range(1, 2 * b.size + 64);
                        let ptr = t.reallocate.call(&mut t.store, (b.ptr, size)).unwrap();
                        assert!(ptr != 0, "thread {tid}: reallocate({b:?}, {size}) failed");
                        let kept = size.min(b.size);
                        assert!(
                            t.read(ptr, kept) == pattern(b.seed, b.size)[..kept as usize],
                            "thread {tid}: realloc lost bytes"
                        );
                        c.reallocations += 1;
                        t.write(ptr, &pattern(block_seed, size));
                        *slot = Some(Block { ptr, size, seed: block_seed, owner: tid });
                    }
                    _ => assert_eq!(t.size.call(&mut t.store, b.ptr).unwrap(), b.size, "thread {tid}: size({b:?})"),
                }
            }
        }
    }
    c
}

/// After the threads: `check()` is 0, every live block of `table` keeps its pattern, and the
/// statistics (read by `t`) agree with `counts`, the sum of what the threads did. Returns them.
/// O(blocks + bytes of live blocks).
pub fn check_after(t: &mut Thread, table: &Table, counts: &Counts) -> Result<Stats, String> {
    let check = t.check();
    if check != 0 {
        return Err(format!("check() = {check} after the threads"));
    }
    let s = t.stats(0);
    let live = table.live();
    for b in &live {
        if t.read(b.ptr, b.size) != pattern(b.seed, b.size) {
            return Err(format!("block {b:?} was overwritten"));
        }
    }
    let want = [
        ("live_blocks", live.len() as u32, s.live_blocks),
        ("live_bytes", live.iter().map(|b| b.size).sum(), s.live_bytes),
        ("allocations", counts.allocations, s.allocations),
        ("frees", counts.frees, s.frees),
        ("reallocations", counts.reallocations, s.reallocations),
        ("rejected_frees", counts.rejected_frees, s.rejected_frees),
        ("failures", 0, s.failures),
        ("heap_start", REGION + HEADER, s.heap_start),
    ];
    match want.iter().find(|(_, w, got)| w != got) {
        Some((name, w, got)) => Err(format!("stats.{name} = {got}, the threads counted {w}: {s:?}")),
        None => Ok(s),
    }
}

/// Runs `f(thread, tid)` on `threads` OS threads, each with an instance of its own of `module`
/// over `memory` (even threads may block, odd ones only spin); returns what each returned, or the
/// message of the first thread that panicked.
pub fn on_threads<T: Send>(
    module: &Module,
    memory: &SharedMemory,
    threads: usize,
    f: impl Fn(&mut Thread, usize) -> T + Sync,
) -> Result<Vec<T>, String> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|tid| {
                let f = &f;
                s.spawn(move || f(&mut Thread::join(module, memory, tid % 2 == 0), tid))
            })
            .collect();
        // Every thread is joined (a scope panics on one left unjoined); the first message that is
        // not of a lock poisoned by another thread's panic is the one to tell.
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let message = |e: &(dyn std::any::Any + Send)| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a thread panicked".into())
        };
        let errors: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().map(|e| message(&**e))).collect();
        match errors.iter().find(|e| !e.contains("PoisonError")).or(errors.first()) {
            Some(e) => Err(format!("{} thread(s) panicked: {e}", errors.len())),
            None => Ok(results.into_iter().flatten().collect()),
        }
    })
}
