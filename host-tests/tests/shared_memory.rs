//! `wasm/wasmheap-shared.wasm`: one heap in a shared memory, used by several threads at once. Each
//! OS thread here has its own `Store` and its own instance of the module over one `SharedMemory`,
//! as each Web Worker or wasmtime thread would; every call of the module takes the heap's lock.
//!
//! The random program writes a pattern into every block and checks it before the block is freed
//! or moved, through a table shared by the threads, so that most blocks are freed by another
//! thread than the one that allocated them; at the end `check()` is 0 and the statistics agree with
//! the operations the threads counted. Half the threads may block (`set_may_block(1)`), half only
//! spin, so that both ways of waiting meet on one lock.

use host_tests::shared::{
    self, Counts, HEADER, PAGE, REGION, Table, Thread, check_after, engine, memory, random_program,
};
use host_tests::{Rng, Stats, read_repo_file};
use std::sync::{Barrier, OnceLock};
use wasmparser::{ExternalKind, Operator, Parser, Payload};
use wasmtime::{Module, SharedMemory};

const THREADS: usize = 4;

fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    // WASMHEAP_SHARED_WASM: another build of the flavor (a negative control without the lock).
    MODULE.get_or_init(|| {
        let bytes = match std::env::var("WASMHEAP_SHARED_WASM") {
            Ok(path) => std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
            Err(_) => read_repo_file("wasm/wasmheap-shared.wasm"),
        };
        Module::new(engine(), bytes).expect("compile")
    })
}

/// A new instance over `memory` that joined the heap (see [`Thread::join`]).
fn join(memory: &SharedMemory, may_block: bool) -> Thread {
    Thread::join(module(), memory, may_block)
}

/// Runs `f(thread, tid)` on [`THREADS`] OS threads (see [`shared::on_threads`]).
fn on_threads<T: Send>(memory: &SharedMemory, f: impl Fn(&mut Thread, usize) -> T + Sync) -> Vec<T> {
    shared::on_threads(module(), memory, THREADS, f).unwrap_or_else(|e| panic!("a thread panicked: {e}"))
}

/// [`THREADS`] threads run `ops` random operations each on a table of `slots` blocks (with bad
/// input if `bad`); then `check()` is 0, every live block keeps its pattern and the statistics
/// agree with what the threads counted. Returns a thread joined afterwards, the table, the counts
/// and the statistics.
fn random_run(slots: usize, ops: u64, seed: u64, bad: bool) -> (Thread, Table, Counts, Stats) {
    let memory = memory(16384);
    let table = Table::new(slots);
    let counts = on_threads(&memory, |t, tid| random_program(t, &table, tid, ops, seed, bad));
    let mut total = Counts::default();
    counts.iter().for_each(|c| total.add(c));
    let mut t = join(&memory, true);
    let s = check_after(&mut t, &table, &total).unwrap_or_else(|e| panic!("{e}"));
    (t, table, total, s)
}

#[test]
fn four_threads_share_one_heap_and_free_each_others_blocks() {
    let (mut t, table, total, _) = random_run(2048, 100_000, 0x5EED_0023, false);
    assert!(total.foreign > total.frees / 2, "{total:?}");
    // Every thread's blocks are one heap's: one thread frees them all.
    for b in table.live() {
        t.call::<u32, ()>("deallocate", b.ptr);
    }
    assert_eq!((t.check(), t.stats(0).live_blocks), (0, 0));
}

/// The soak's threaded mode in small: the random program with bad input (double frees, foreign
/// pointers) from every thread; each bad pointer is rejected and counted.
#[test]
fn the_random_program_with_bad_input_from_every_thread_keeps_the_counts() {
    let (_, _, total, s) = random_run(512, 20_000, 0xBAD_0023, true);
    assert!(total.rejected_frees > 1000 && total.false_accepts == 0, "{total:?}");
    assert_eq!(s.rejected_frees, total.rejected_frees, "{s:?}");
}

#[test]
fn marks_are_the_heaps_a_mark_taken_by_one_thread_covers_every_threads_later_blocks() {
    let memory = memory(1024);
    let barrier = Barrier::new(THREADS);
    // (blocks before the mark, blocks after it) of each thread.
    let each = on_threads(&memory, |t, tid| {
        let alloc = |t: &mut Thread, n: u32| -> Vec<u32> {
            (0..n).map(|i| t.allocate.call(&mut t.store, 16 + 8 * i).unwrap()).collect::<Vec<_>>()
        };
        let before = alloc(t, 50);
        barrier.wait();
        let mark = if tid == 0 { t.call::<(), u32>("free_get_mark", ()) } else { 0 };
        barrier.wait();
        let after = alloc(t, 50);
        barrier.wait();
        if tid == 0 {
            t.call::<u32, ()>("free_to_mark", mark);
        }
        barrier.wait();
        // Thread 0's free_to_mark released the other threads' later blocks too; the earlier ones live.
        for (i, &p) in before.iter().enumerate() {
            assert_eq!(
                t.size.call(&mut t.store, p).unwrap(),
                16 + 8 * i as u32,
                "thread {tid}: a block before the mark"
            );
        }
        for &p in &after {
            assert_eq!(t.size.call(&mut t.store, p).unwrap(), 0, "thread {tid}: a block after the mark lives on");
        }
        barrier.wait();
        // A floor set by thread 1 keeps every thread's blocks of now; free_all by thread 3 releases
        // every thread's blocks of later.
        if tid == 1 {
            t.call::<(), ()>("free_all_mark", ());
        }
        barrier.wait();
        let later = alloc(t, 20);
        barrier.wait();
        if tid == 3 {
            t.call::<(), ()>("free_all", ());
        }
        barrier.wait();
        let later_live = later.iter().filter(|&&p| t.size.call(&mut t.store, p).unwrap() != 0).count();
        let before_live = before.iter().filter(|&&p| t.size.call(&mut t.store, p).unwrap() != 0).count();
        (before_live, later_live, t.check())
    });
    for (tid, &(before, later, check)) in each.iter().enumerate() {
        assert_eq!((before, later, check), (50, 0, 0), "thread {tid}: (before the floor live, after it live, check)");
    }
    let mut t = join(&memory, true);
    let s = t.stats(0);
    assert_eq!((s.live_blocks, s.mark_depth), (50 * THREADS as u32, 1), "{s:?}");
}

#[test]
fn marks_and_free_all_while_others_work_leave_the_heap_sound() {
    // Thread 0 takes marks and releases to them, and calls free_all, while the others allocate and
    // free: their blocks after a mark are released under them (marks are the heap's), so their
    // own frees of such blocks are rejected or hit another block: only soundness is checked here.
    let memory = memory(4096);
    let rounds = if cfg!(debug_assertions) { 300 } else { 2000 };
    let checks = on_threads(&memory, |t, tid| {
        let mut rng = Rng::new(23, tid as u64);
        let mut mine = Vec::new();
        for _ in 0..rounds {
            if tid == 0 {
                let mark = t.call::<(), u32>("free_get_mark", ());
                for _ in 0..rng.range(0, 10) {
                    t.allocate.call(&mut t.store, rng.range(1, 500)).unwrap();
                }
                if rng.chance(1, 10) {
                    t.call::<(), ()>("free_all", ());
                } else {
                    t.call::<u32, ()>("free_to_mark", mark);
                }
            } else if mine.is_empty() || rng.chance(1, 2) {
                mine.push(t.allocate.call(&mut t.store, rng.range(1, 500)).unwrap());
            } else {
                let p = mine.swap_remove(rng.index(mine.len()));
                t.deallocate.call(&mut t.store, p).unwrap();
            }
        }
        t.check()
    });
    assert_eq!(checks, vec![0; THREADS]);
    let mut t = join(&memory, true);
    t.call::<(), ()>("free_all", ());
    let s = t.stats(0);
    assert_eq!((t.check(), s.live_blocks, s.mark_depth), (0, 0, 0), "{s:?}");
}

#[test]
fn bad_input_from_several_threads_is_rejected_and_counted() {
    let memory = memory(1024);
    let barrier = Barrier::new(THREADS);
    let per_thread = 200u32;
    on_threads(&memory, |t, _| {
        let blocks: Vec<u32> = (0..per_thread).map(|i| t.allocate.call(&mut t.store, 8 + i).unwrap()).collect();
        // Foreign pointers: in the header, below the region, interior, misaligned, past memory.
        for &p in &blocks {
            for bad in [p + 8, p + 3, REGION + 16, 8, u32::MAX - 7] {
                t.deallocate.call(&mut t.store, bad).unwrap();
            }
        }
        barrier.wait();
        for &p in &blocks {
            t.deallocate.call(&mut t.store, p).unwrap();
        }
        // Every thread has freed all its blocks before any frees one again: no block was handed
        // out again in between, so each second free is a double free.
        barrier.wait();
        for &p in &blocks {
            t.deallocate.call(&mut t.store, p).unwrap();
            assert_eq!(t.reallocate.call(&mut t.store, (p, 64)).unwrap(), 0);
        }
    });
    let mut t = join(&memory, true);
    let s = t.stats(0);
    let n = per_thread * THREADS as u32;
    assert_eq!((t.check(), s.live_blocks, s.frees), (0, 0, n), "{s:?}");
    assert_eq!(s.rejected_frees, n * 5 + n * 2, "{s:?}");
}

#[test]
fn init_joins_the_heap_set_up_by_the_first_instance() {
    let memory = memory(64);
    let mut a = Thread::bare(module(), &memory);
    // Before init every call traps (out of bounds), touching nothing.
    let trap = a.try_call::<u32, u32>("allocate", 8).unwrap_err();
    assert!(format!("{trap:?}").contains("out of bounds"), "{trap:?}");
    assert!(
        // SAFETY: no thread runs the module meanwhile: nothing writes these bytes.
        memory.data().iter().all(|b| unsafe { *b.get() } == 0),
        "a call before init wrote to memory"
    );
    // Bad regions: start 0; the header not in memory; a fixed end below the heap's start.
    assert_eq!(a.call::<(u32, u32), u32>("init", (0, 0)), 0);
    assert_eq!(a.call::<(u32, u32), u32>("init", (PAGE - 100, 0)), 0);
    assert_eq!(a.call::<(u32, u32), u32>("init", (REGION, REGION + HEADER)), 0);
    assert_eq!(a.call::<(u32, u32), u32>("init", (REGION, 0)), 1);
    let p = a.call::<u32, u32>("allocate", 100);
    // A second instance joins: the same heap, the block is live there, nothing was reset.
    let mut b = Thread::bare(module(), &memory);
    assert_eq!(b.call::<(u32, u32), u32>("init", (REGION, 0)), 1);
    assert_eq!(b.call::<u32, u32>("size", p), 100);
    // With another end it is not the same heap: refused.
    assert_eq!(Thread::bare(module(), &memory).call::<(u32, u32), u32>("init", (REGION, 8 * PAGE)), 0);
    b.call::<u32, ()>("deallocate", p);
    assert_eq!(a.call::<u32, u32>("size", p), 0);
    // Many instances at once on a fresh memory: one sets up, all join the same heap.
    let memory = memory_fresh();
    let ptrs = on_threads(&memory, |t, _| t.call::<u32, u32>("allocate", 24));
    let mut t = join(&memory, false);
    let s = t.stats(0);
    assert_eq!((s.live_blocks, s.allocations, t.check()), (THREADS as u32, THREADS as u32, 0), "{s:?}");
    assert!(ptrs.iter().all(|&p| t.size.call(&mut t.store, p).unwrap() == 24));
    // stats with a pointer out of memory traps before the lock is taken: the heap stays usable.
    assert!(t.try_call::<u32, ()>("stats", u32::MAX - 10).is_err());
    assert_eq!(join(&memory, true).check(), 0);
}

fn memory_fresh() -> SharedMemory {
    memory(64)
}

#[test]
fn the_import_is_one_shared_memory_and_there_is_no_data_segment() {
    let m = module();
    let imports: Vec<_> = m.imports().map(|i| (i.module().to_string(), i.name().to_string(), i.ty())).collect();
    assert_eq!(imports.len(), 1, "{imports:?}");
    let (module, name, ty) = &imports[0];
    assert_eq!((module.as_str(), name.as_str()), ("env", "memory"));
    let ty = ty.memory().expect("a memory import");
    assert!(ty.is_shared() && ty.maximum() == Some(65536), "{ty:?}");
    let bytes = read_repo_file("wasm/wasmheap-shared.wasm");
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            Payload::DataSection(_) | Payload::DataCountSection { .. } => panic!("a data segment"),
            Payload::MemorySection(r) => assert_eq!(r.count(), 0, "a memory of its own"),
            _ => {}
        }
    }
}

/// The module's code touches a shadow stack only while it holds the lock: the stack (in the
/// region's header) is shared by the instances but used by one at a time, as the heap is.
///
/// The stack pointers are the globals that functions other than the exports `init` and
/// `set_may_block` write (the core's prologues; the shim's globals are written by those two
/// only). Every other export takes the lock with one `i32.atomic.rmw.cmpxchg` and gives it back
/// with one `i32.atomic.rmw.xchg`; what it calls between the two runs under the lock, but for the
/// lock's own slow paths (the functions that wait or notify), which are checked like everything
/// called outside that span: neither they nor anything they call may read or write a stack
/// pointer. `init` is the exception: it points its stack pointer at the header's stack, and runs
/// the core's set-up only while its instance holds the heap's claim (state SETUP), when no
/// instance runs the core.
#[test]
fn the_shadow_stack_is_touched_only_under_the_lock() {
    let bytes = read_repo_file("wasm/wasmheap-shared.wasm");
    let mut exports = Vec::new();
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    if e.kind == ExternalKind::Func {
                        exports.push((e.name.to_string(), e.index as usize));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let ops: Vec<Operator> = body.get_operators_reader().unwrap().into_iter().map(|o| o.unwrap()).collect();
                bodies.push(ops);
            }
            _ => {}
        }
    }
    // Only a memory is imported (the test above): function i is body i.
    let export = |name: &str| exports.iter().find(|(n, _)| n == name).map(|e| e.1).unwrap();
    let (init, set_may_block) = (export("init"), export("set_may_block"));
    let mut stack_pointers = std::collections::BTreeSet::new();
    for (f, ops) in bodies.iter().enumerate() {
        for op in ops {
            if let Operator::GlobalSet { global_index } = op
                && f != init
                && f != set_may_block
            {
                stack_pointers.insert(*global_index);
            }
        }
    }
    let calls = |f: usize| -> Vec<usize> {
        bodies[f]
            .iter()
            .filter_map(
                |op| if let Operator::Call { function_index } = op { Some(*function_index as usize) } else { None },
            )
            .collect()
    };
    let waits_or_wakes = |f: usize| {
        bodies[f]
            .iter()
            .any(|op| matches!(op, Operator::MemoryAtomicWait32 { .. } | Operator::MemoryAtomicNotify { .. }))
    };
    // The functions called outside a locked span (and the lock's slow paths), and what they call.
    let mut unlocked: Vec<usize> = vec![set_may_block];
    for (name, f) in &exports {
        if [init, set_may_block].contains(f) {
            continue;
        }
        let (mut locked, mut takes, mut gives) = (false, 0, 0);
        for op in &bodies[*f] {
            match op {
                Operator::I32AtomicRmwCmpxchg { .. } => (locked, takes) = (true, takes + 1),
                Operator::I32AtomicRmwXchg { .. } => (locked, gives) = (false, gives + 1),
                Operator::Call { function_index } if !locked || waits_or_wakes(*function_index as usize) => {
                    unlocked.push(*function_index as usize)
                }
                Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index }
                    if !locked && stack_pointers.contains(global_index) =>
                {
                    panic!("export {name} touches the stack pointer (global {global_index}) outside the lock")
                }
                _ => {}
            }
        }
        assert_eq!((takes, gives), (1, 1), "export {name} must take the lock once and give it back once");
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(f) = unlocked.pop() {
        if !seen.insert(f) {
            continue;
        }
        for op in &bodies[f] {
            if let Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } = op {
                assert!(
                    !stack_pointers.contains(global_index),
                    "function {f} touches a stack pointer outside the lock"
                );
            }
        }
        unlocked.extend(calls(f));
    }
    assert!(seen.iter().any(|&f| waits_or_wakes(f)), "the lock's slow paths were not found");
    eprintln!("stack pointers: {stack_pointers:?}; functions outside the lock: {seen:?}");
}

/// `calloc` clears every byte of its block, also memory that another thread grew and used (the
/// shim clears the whole block: `memory.size` may lag another thread's growth in V8), and an
/// overflowing `n * size` fails and counts.
#[test]
fn calloc_clears_the_whole_block_and_refuses_an_overflow() {
    let memory = memory(1024);
    let mut a = join(&memory, false);
    let mut b = join(&memory, false);
    // Thread a grows memory and leaves dirty blocks; thread b's calloc gets them back cleared.
    let dirty: Vec<u32> = (0..40).map(|_| a.call::<u32, u32>("malloc", 20000)).collect();
    for &p in &dirty {
        a.write(p, &[0xAB; 20000]);
        a.call::<u32, ()>("free", p);
    }
    for _ in 0..40 {
        let p = b.call::<(u32, u32), u32>("calloc", (100, 200));
        assert!(p != 0 && p.is_multiple_of(16));
        assert!(b.read(p, 20000).iter().all(|&x| x == 0), "calloc({p:#x}) left bytes set");
    }
    let failures = b.stats(1).failures;
    assert_eq!(b.call::<(u32, u32), u32>("calloc", (0x1_0000, 0x1_0000)), 0);
    assert_eq!(b.call::<(u32, u32), u32>("calloc", (3, 0x5555_5556)), 0);
    assert_eq!(b.stats(1).failures, failures + 2);
    assert_eq!(b.check(), 0);
}
