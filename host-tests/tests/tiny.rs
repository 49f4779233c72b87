//! The tiny flavor, `wasm/wasmheap-tiny.wasm`: the raw ABI's semantics for allocate,
//! allocate_aligned, deallocate, reallocate, size and the four mark calls, in at most 1.5 KiB.
//! It lacks `check` and `stats` (so the rest of the suite, whose harness reads the statistics and
//! checks the heap after each test, cannot load it): these tests cover what its ABI has, against
//! a model, and say which exports it lacks.

mod common;

use common::{Call, Op};
use host_tests::{Compiled, Heap, Instance, Layout, Limiter, Rng, engine, pattern, read_repo_file, repo_module};
use wasmheap_model::{Block, Check, MAX_REQUEST, Model, ensure};
use wasmtime::{ExternType, Module};

/// The size goal of the tiny flavor: 1.5 KiB after `wasm-opt -Oz`.
const SIZE_GOAL: usize = 1536;

/// The module these tests are about, and its bytes.
fn flavor() -> &'static Compiled {
    repo_module("wasm/wasmheap-tiny.wasm")
}

/// A fresh instance whose memory may grow up to `cap` bytes.
fn tiny(cap: usize) -> Instance {
    Instance::instantiate(&flavor().module, Layout::Own, Limiter::new(cap, Rng::seeded(0))).expect("instantiate")
}

fn refused(t: &Instance) -> u32 {
    t.limiter().refused
}

/// Runs `f`, a call that must be rejected or a no-op, and asserts that no byte of memory changed.
#[track_caller]
fn assert_untouched<R>(t: &mut Instance, what: &str, f: impl FnOnce(&mut Instance) -> R) -> R {
    let before = t.mem().to_vec();
    let r = f(t);
    let after = t.mem();
    assert_eq!(before.len(), after.len(), "{what}: memory grew");
    if let Some(i) = (0..before.len()).find(|&i| before[i] != after[i]) {
        panic!("{what}: byte {i:#x} changed");
    }
    r
}

#[test]
fn it_is_at_most_1_5_kib() {
    let n = flavor().bytes.len();
    assert!(n <= SIZE_GOAL, "wasm/wasmheap-tiny.wasm is {n} bytes, the goal {SIZE_GOAL}");
}

#[test]
fn it_exports_the_calls_it_covers_and_lacks_check_stats_and_the_c_names() {
    let m = &flavor().module;
    assert_eq!(m.imports().len(), 0, "the module must need no imports");
    assert!(matches!(m.get_export("memory"), Some(ExternType::Memory(_))));
    const LACKS: [&str; 3] = ["check", "stats", "discardable"];
    let mut has = Vec::new();
    for (name, params, results) in host_tests::ABI {
        match m.get_export(name) {
            Some(ExternType::Func(f)) => {
                assert_eq!((f.params().len(), f.results().len()), (params, results), "`{name}`");
                has.push(name);
            }
            Some(other) => panic!("`{name}` is exported as {other:?}"),
            None => assert!(LACKS.contains(&name), "`{name}` is missing"),
        }
    }
    assert_eq!(has.len(), host_tests::ABI.len() - LACKS.len());
    for (name, ..) in host_tests::C_NAMES {
        assert!(m.get_export(name).is_none(), "`{name}` is exported");
    }
    // Nothing else: no __heap_base, __data_end.
    let exports: Vec<&str> = m.exports().map(|e| e.name()).collect();
    assert_eq!(exports.len(), 1 + has.len(), "exports: {exports:?}");
    // And it never traps on a call of the raw ABI whatever the arguments.
    let mut t = tiny(64 << 20);
    for v in [0u32, 1, 7, 8, 0x2000, 0xFFFF_FFF8, u32::MAX] {
        let _: u32 = t.call("size", v);
        t.call::<_, ()>("deallocate", v);
        let _: u32 = t.call("reallocate", (v, v));
        t.call::<_, ()>("free_to_mark", v);
        let _: u32 = t.call("allocate_aligned", (v, v));
    }
}

#[test]
fn double_frees_and_foreign_pointers_are_rejected_exactly_and_write_nothing() {
    let mut t = tiny(64 << 20);
    let a: u32 = t.call("allocate", 100u32);
    let b: u32 = t.call("allocate", 0u32);
    let c: u32 = t.call("allocate", 40u32);
    let d: u32 = t.call("allocate", 24u32); // keeps c off the top
    assert!(a != 0 && b != 0 && c != 0 && d != 0);
    assert!(a % 8 == 0 && b % 8 == 0 && c % 8 == 0);
    assert!(b != a && b != c, "allocate(0) is a unique pointer");
    t.call::<_, ()>("deallocate", c);
    let mem = t.mem().len() as u32;
    let bad = [
        c,            // double free
        a + 8,        // interior
        a + 4,        // interior, misaligned
        a + 1,        // misaligned
        a - 8,        // the header
        8,            // below the heap: the stack
        0x2000,       // the allocator's state
        mem - 8,      // above the top
        mem + 64,     // beyond memory
        u32::MAX - 7, // far beyond
    ];
    for p in bad {
        assert_eq!(t.call::<_, u32>("size", p), 0, "size({p:#x})");
        assert_untouched(&mut t, &format!("deallocate({p:#x})"), |t| t.call::<_, ()>("deallocate", p));
        let r =
            assert_untouched(&mut t, &format!("reallocate({p:#x}, 8)"), |t| t.call::<_, u32>("reallocate", (p, 8u32)));
        assert_eq!(r, 0, "reallocate of a bad pointer {p:#x}");
    }
    assert_untouched(&mut t, "deallocate(0)", |t| t.call::<_, ()>("deallocate", 0u32));
    // A pointer released by free_to_mark, and a block at the same place later: only the live one.
    let m: u32 = t.call("free_get_mark", ());
    let e: u32 = t.call("allocate", 64u32);
    t.call::<_, ()>("free_to_mark", m);
    assert_eq!(t.call::<_, u32>("size", e), 0, "a block released by free_to_mark");
    assert_untouched(&mut t, "deallocate(released)", |t| t.call::<_, ()>("deallocate", e));
    let f: u32 = t.call("allocate", 64u32);
    assert_eq!(t.call::<_, u32>("size", f), 64);
    for (p, n) in [(a, 100), (b, 0), (d, 24)] {
        assert_eq!(t.call::<_, u32>("size", p), n);
    }
}

#[test]
fn a_walk_ends_even_when_a_header_was_overwritten() {
    // Undefined behaviour (writing the allocator's headers), but it must not hang: a size word
    // that does not move forward ends every walk.
    for word in [0u32, 1, 0xFFFF_FFF8] {
        let mut t = tiny(64 << 20);
        let a: u32 = t.call("allocate", 16u32);
        let b: u32 = t.call("allocate", 16u32);
        let c: u32 = t.call("allocate", 16u32);
        t.call::<_, ()>("deallocate", a);
        let at = (b - 8) as usize;
        t.mem_mut()[at..at + 4].copy_from_slice(&word.to_le_bytes());
        t.store.set_fuel(10_000_000).unwrap();
        let _ = t.try_call::<_, u32>("size", c).expect("size() after a header was overwritten");
        t.try_call::<_, ()>("deallocate", c).expect("deallocate()");
        let _ = t.try_call::<_, u32>("allocate", 100u32).expect("allocate()");
    }
}

#[test]
fn marks_release_exactly_what_came_after_them() {
    let mut t = tiny(64 << 20);
    let keep: u32 = t.call("allocate", 200u32);
    let old: u32 = t.call("allocate", 50u32);
    let m1: u32 = t.call("free_get_mark", ());
    let x: u32 = t.call("allocate", 300u32);
    let m2: u32 = t.call("free_get_mark", ());
    assert!(m1 != 0 && m2 != 0 && m1 != m2);
    let y: u32 = t.call("allocate", 10u32);
    // Freed after the marks, an older block's memory is not reused until its segment is newest.
    t.call::<_, ()>("deallocate", old);
    let z: u32 = t.call("allocate", 40u32);
    assert!(z > y, "a block freed before the mark was reused after it");
    // reallocate that moves an old block: the moved block is released by free_to_mark.
    let moved: u32 = t.call("reallocate", (keep, 5000u32));
    assert!(moved != keep && moved != 0);
    t.call::<_, ()>("free_to_mark", m2);
    assert_eq!(t.call::<_, u32>("size", y), 0);
    assert_eq!(t.call::<_, u32>("size", z), 0);
    assert_eq!(t.call::<_, u32>("size", moved), 0);
    assert_eq!(t.call::<_, u32>("size", x), 300);
    // A used-up mark, and a bogus one, change nothing.
    for bogus in [m2, m2 + 1, m1 ^ 0x100, 0, 255, u32::MAX] {
        assert_untouched(&mut t, &format!("free_to_mark({bogus:#x})"), |t| t.call::<_, ()>("free_to_mark", bogus));
    }
    t.call::<_, ()>("free_to_mark", m1);
    assert_eq!(t.call::<_, u32>("size", x), 0);
    // The block moved away from (`keep`) was freed by the move: gone too.
    assert_eq!(t.call::<_, u32>("size", keep), 0);
    // The floor: free_all releases what came after it and keeps the rest.
    let a: u32 = t.call("allocate", 16u32);
    t.call::<_, ()>("free_all_mark", ());
    let b: u32 = t.call("allocate", 16u32);
    let m3: u32 = t.call("free_get_mark", ());
    t.call::<_, ()>("free_all", ());
    assert_eq!((t.call::<_, u32>("size", a), t.call::<_, u32>("size", b)), (16, 0));
    assert_untouched(&mut t, "free_to_mark(a mark released by free_all)", |t| t.call::<_, ()>("free_to_mark", m3));
    // free_all at the base releases everything.
    let mut u = tiny(64 << 20);
    let p: u32 = u.call("allocate", 16u32);
    u.call::<_, ()>("free_all", ());
    assert_eq!(u.call::<_, u32>("size", p), 0);
    assert_eq!(u.call::<_, u32>("allocate", 16u32), p, "free_all gave the room back");
    // 255 marks deep at most, then 0.
    let mut marks = Vec::new();
    loop {
        let m: u32 = u.call("free_get_mark", ());
        if m == 0 {
            break;
        }
        marks.push(m);
    }
    assert_eq!(marks.len(), 255);
    u.call::<_, ()>("free_to_mark", marks[0]);
    assert!(u.call::<_, u32>("free_get_mark", ()) != 0);
}

#[test]
fn out_of_memory_returns_0_changes_nothing_and_recovers() {
    let mut t = tiny(64 << 20);
    let mem = t.mem().len();
    t.set_cap(mem); // no growth from now on
    let mut blocks = Vec::new();
    loop {
        let p: u32 = t.call("allocate", 1000u32);
        if p == 0 {
            break;
        }
        t.mem_mut()[p as usize..p as usize + 1000].fill(blocks.len() as u8);
        blocks.push(p);
    }
    assert!(blocks.len() > 40 && refused(&t) > 0);
    for (what, size, align) in [("allocate", 1000, 8), ("allocate_aligned", 100, 4096), ("too large", u32::MAX, 8)] {
        let r = assert_untouched(&mut t, what, |t| t.call::<_, u32>("allocate_aligned", (size, align)));
        assert_eq!(r, 0, "{what}");
    }
    let r =
        assert_untouched(&mut t, "reallocate in a full heap", |t| t.call::<_, u32>("reallocate", (blocks[3], 5000u32)));
    assert_eq!(r, 0);
    for huge in [MAX_REQUEST + 1, u32::MAX] {
        assert_eq!(t.call::<_, u32>("reallocate", (blocks[3], huge)), 0);
    }
    let mark: u32 = t.call("free_get_mark", ());
    assert!(mark != 0, "a mark needs no memory");
    t.call::<_, ()>("free_to_mark", mark);
    // Freed blocks are reused: the first that fits, merged with free neighbours.
    t.call::<_, ()>("deallocate", blocks[10]);
    t.call::<_, ()>("deallocate", blocks[11]);
    let p: u32 = t.call("allocate", 1500u32);
    assert_eq!(p, blocks[10], "two freed neighbours were not merged and reused");
    for (i, &q) in blocks.iter().enumerate() {
        if i != 10 && i != 11 {
            assert!(t.mem()[q as usize..q as usize + 1000].iter().all(|&b| b == i as u8));
        }
    }
    t.set_cap(64 << 20);
    assert!(t.call::<_, u32>("allocate", 100_000u32) != 0, "growth allowed again");
}

/// The tiny flavor keeps the raw ABI's rules, so its random calls are checked against the shared
/// model (`wasmheap_model`), blocks tagged with the id of their pattern. It has no `stats`: the
/// model's counters go unread, and a refused request is allowed when it is too large, larger than
/// the cap, or met a refused `memory.grow`.
struct Run {
    t: Instance,
    m: Model<u64>,
    rng: Rng,
    next_id: u64,
}

impl Run {
    /// A failed request of `size` bytes was allowed: too large, or growth was refused.
    fn may_fail(&self, size: u32, refused_before: u32) -> Check {
        let allowed = size > MAX_REQUEST || size > 8 << 20 || refused(&self.t) > refused_before;
        ensure!(allowed, "a request of {size} bytes failed though it fits and memory could grow");
        Ok(())
    }

    /// Fills the block at `p` with a new pattern; returns its id.
    fn fill_new(&mut self, p: u32, size: u32) -> u64 {
        self.next_id += 1;
        self.t.write(p, &pattern(self.next_id, size));
        self.next_id
    }

    fn check_block(&self, p: u32, b: &Block<u64>) -> Check {
        ensure!(self.t.read(p, b.size) == pattern(b.tag, b.size), "block {p:#x} ({} bytes) lost its contents", b.size);
        Ok(())
    }

    fn allocate(&mut self, size: u32, refused_before: u32) -> Check {
        let align = if self.rng.below32(4) == 0 { 1 << self.rng.below32(17) } else { 0 };
        let p: u32 = match align {
            0 => self.t.call("allocate", size),
            _ => self.t.call("allocate_aligned", (size, align)),
        };
        if p == 0 {
            self.m.failed();
            return self.may_fail(size, refused_before);
        }
        ensure!(size <= MAX_REQUEST, "allocate({size:#x}) succeeded");
        self.m.allocated(p, size, align, 0)?;
        let id = self.fill_new(p, size);
        self.m.blocks.get_mut(&p).unwrap().tag = id;
        Ok(())
    }

    fn deallocate(&mut self, p: u32) -> Check {
        self.check_block(p, &self.m.blocks[&p])?;
        self.t.call::<_, ()>("deallocate", p);
        self.m.deallocated(p);
        Ok(())
    }

    fn reallocate(&mut self, p: u32, size: u32, refused_before: u32) -> Check {
        let old = self.m.blocks[&p];
        let q: u32 = self.t.call("reallocate", (p, size));
        if q == 0 {
            self.may_fail(size, refused_before)?;
            self.m.realloc_failed(p, size)?;
            return self.check_block(p, &old);
        }
        let keep = old.size.min(size);
        ensure!(self.t.read(q, keep) == &pattern(old.tag, old.size)[..keep as usize], "reallocate lost the contents");
        let id = self.fill_new(q, size);
        self.m.reallocated(p, q, size, id).map(drop)
    }

    /// A pointer that is not a live block (freed, released, interior, misaligned or random) is
    /// rejected and changes no byte of memory.
    fn bad_pointer(&mut self, live: impl Fn(&mut Rng) -> Option<u32>, ctx: &str) -> Check {
        let r = &mut self.rng;
        let p = match r.below32(4) {
            0 => self.m.dead.pick(r),
            1 => live(r).map(|p| p + 8 * (1 + r.below32(4))),
            2 => live(r).map(|p| p + 1 + r.below32(7)),
            _ => None,
        };
        let p = p.unwrap_or_else(|| r.u32());
        if self.m.blocks.contains_key(&p) {
            return Ok(());
        }
        ensure!(self.t.call::<_, u32>("size", p) == 0, "size of bad {p:#x}");
        assert_untouched(&mut self.t, &format!("{ctx}: deallocate(bad {p:#x})"), |t| t.call::<_, ()>("deallocate", p));
        self.m.deallocated(p);
        Ok(())
    }

    fn get_mark(&mut self) -> Check {
        let m: u32 = self.t.call("free_get_mark", ());
        ensure!(m != 0, "free_get_mark() returned 0");
        self.m.mark_taken(m)
    }

    /// `free_to_mark` of a mark in force; then again, used up: rejected, nothing changes.
    fn free_to_a_mark(&mut self, ctx: &str) {
        let marks: Vec<u32> = self.m.segments.marks().map(|(_, m)| m).collect();
        let m = marks[self.rng.index(marks.len())];
        self.t.call::<_, ()>("free_to_mark", m);
        self.m.to_mark(m);
        assert_untouched(&mut self.t, &format!("{ctx}: free_to_mark(used up)"), |t| t.call::<_, ()>("free_to_mark", m));
    }

    fn free_all_mark(&mut self) -> Check {
        self.t.call::<_, ()>("free_all_mark", ());
        if self.m.all_mark_is_noop() {
            return Ok(());
        }
        self.m.all_marked(true)
    }

    fn free_all(&mut self) {
        self.t.call::<_, ()>("free_all", ());
        self.m.all_freed();
    }

    /// One random call, with growth refused now and then.
    fn step(&mut self, ctx: &str) -> Check {
        let live: Vec<u32> = self.m.blocks.keys().copied().collect();
        let pick = |rng: &mut Rng| (!live.is_empty()).then(|| live[rng.index(live.len())]);
        let size = match self.rng.below32(20) {
            0 => self.rng.below32(40_000),
            1 => 0,
            2 => MAX_REQUEST + self.rng.below32(100),
            _ => self.rng.below32(300),
        };
        let cap = if self.rng.below32(10) == 0 { self.t.mem().len() } else { 16 << 20 };
        self.t.set_cap(cap);
        let refused_before = refused(&self.t);
        match (self.rng.below32(100), pick(&mut self.rng)) {
            (0..=34, _) => self.allocate(size, refused_before)?,
            (35..=59, Some(p)) => self.deallocate(p)?,
            (60..=74, Some(p)) => self.reallocate(p, size, refused_before)?,
            (75..=79, Some(p)) => ensure!(self.t.call::<_, u32>("size", p) == self.m.blocks[&p].size, "size({p:#x})"),
            (80..=84, _) => self.bad_pointer(pick, ctx)?,
            (85..=89, _) if self.m.segments.marks().count() < 100 => self.get_mark()?,
            (90..=93, _) if self.m.segments.marks().next().is_some() => self.free_to_a_mark(ctx),
            (94, _) => self.free_all_mark()?,
            (95, _) => self.free_all(),
            _ => {}
        }
        Ok(())
    }

    /// Every live block has its size and contents.
    fn check_all(&mut self) -> Check {
        for (&p, b) in &self.m.blocks {
            self.check_block(p, b)?;
            ensure!(self.t.call::<_, u32>("size", p) == b.size, "size({p:#x})");
        }
        Ok(())
    }
}

#[test]
fn random_calls_match_the_model() {
    for seed in 1..=6u64 {
        let mut run = Run { t: tiny(16 << 20), m: Model::new(), rng: Rng::seeded(seed), next_id: 0 };
        for step in 0..6000 {
            let ctx = format!("seed {seed} step {step}");
            run.step(&ctx).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            if step % 500 == 0 {
                run.check_all().unwrap_or_else(|e| panic!("{ctx}: {e}"));
            }
        }
        run.check_all().unwrap_or_else(|e| panic!("seed {seed}, at the end: {e}"));
    }
}

/// The recorded call sequences of the shared suite (`common::record`, used by `clients.rs`)
/// without their `check` calls, made on the tiny flavor and on the default module: every `size`
/// answers the same, every allocation succeeds on both, every mark is non-zero.
#[test]
fn the_shared_recorded_sequences_give_the_same_sizes_as_the_default_module() {
    for seed in 1..=8 {
        let ops: Vec<Op> = common::record(seed, 3000).into_iter().filter(|op| !matches!(op, Op::Check)).collect();
        let on_tiny = common::replay_direct(&mut tiny(256 << 20), &ops);
        let mut default =
            Heap::of(&Module::new(engine(), read_repo_file("wasm/wasmheap.wasm")).unwrap(), false, 256 << 20);
        let on_default = common::replay_direct(&mut default, &ops);
        let recorded: Vec<&Op> = ops.iter().filter(|op| common::records(op)).collect();
        assert_eq!(on_tiny.len(), recorded.len());
        for ((op, a), b) in recorded.iter().zip(&on_tiny).zip(&on_default) {
            match op {
                Op::Size { .. } => assert_eq!(a, b, "seed {seed}: {op:?}"),
                _ => assert!((*a != 0) == (*b != 0) && *a != 0, "seed {seed}: {op:?}: tiny {a:#x}, default {b:#x}"),
            }
        }
    }
}
