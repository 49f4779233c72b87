//! The debug flavor, `wasm/wasmheap-debug.wasm` (wasm/FLAVORS.md, section 9): each detector
//! finds the bug planted for it and reports it (code, pointer, id, detail); the walks list the
//! live allocations and every block; the switches trap or check after every call. (The shared
//! suite runs on this module too: scripts/test, stage 5.)

use host_tests::{Compiled, Heap, Rng, repo_module};

const BAD_DEALLOCATE: u32 = 1;
const BAD_REALLOCATE: u32 = 2;
const STALE_MARK: u32 = 3;
const OVERRUN: u32 = 4;
const WRITE_AFTER_FREE: u32 = 5;
const CORRUPTED: u32 = 6;

const MISALIGNED: u32 = 1;
const OUTSIDE: u32 = 2;
const ALREADY_FREE: u32 = 3;
const NOT_LIVE: u32 = 4;
const SMASHED_HEADER: u32 = 5;

const BROKEN_CANARY: u32 = 20;
const BROKEN_POISON: u32 = 21;

/// The module these tests are about, and its bytes.
fn flavor() -> &'static Compiled {
    repo_module("wasm/wasmheap-debug.wasm")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Report {
    seq: u32,
    code: u32,
    ptr: u32,
    id: u32,
    detail: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    address: u32,
    size: u32,
    state: u32,
    depth: u32,
    ptr: u32,
    request: u32,
    id: u32,
    tag: u32,
}

const USED: u32 = 0;
const FREE: u32 = 1;
const BINNED: u32 = 2;
const CONTROL: u32 = 3;
const TOP: u32 = 4;

/// A debug-flavor heap and its extra exports.
struct Debug {
    h: Heap,
}

impl Debug {
    fn new() -> Debug {
        Debug { h: Heap::of(&flavor().module, false, 64 << 20) }
    }

    fn call<P: host_tests::Args, R: wasmtime::WasmResults>(&mut self, name: &str, args: P) -> R {
        self.h.call_named(name, args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn words(&self, at: u32, n: usize) -> Vec<u32> {
        (0..n as u32).map(|i| self.h.read_u32(at + 4 * i)).collect()
    }

    fn reports(&mut self, from: u32) -> Vec<Report> {
        let buf: u32 = self.call("debug_buffer", ());
        let n: u32 = self.call("debug_reports", (from, buf, 64));
        let w = self.words(buf, 5 * n as usize);
        w.chunks(5).map(|r| Report { seq: r[0], code: r[1], ptr: r[2], id: r[3], detail: r[4] }).collect()
    }

    fn report_count(&mut self) -> u32 {
        self.call("debug_report_count", ())
    }

    /// The reports made by `f`.
    fn reports_of(&mut self, f: impl FnOnce(&mut Debug)) -> Vec<Report> {
        let before = self.report_count();
        f(self);
        self.reports(before)
    }

    /// Records of a walk (`debug_live`: 4 words, `debug_blocks`: 8), `max` at a time, resumed.
    fn walk(&mut self, export: &str, words: usize, max: u32) -> Vec<Vec<u32>> {
        let buf: u32 = self.call("debug_buffer", ());
        let (mut from, mut all) = (0u32, Vec::new());
        loop {
            let n: u32 = self.call(export, (from, buf, max));
            let w = self.words(buf, words * n as usize);
            all.extend(w.chunks(words).map(|c| c.to_vec()));
            if n < max {
                return all;
            }
            from = all.last().unwrap()[0] + 1;
        }
    }

    fn blocks(&mut self) -> Vec<Block> {
        self.walk("debug_blocks", 8, 7)
            .into_iter()
            .map(|b| Block {
                address: b[0],
                size: b[1],
                state: b[2],
                depth: b[3],
                ptr: b[4],
                request: b[5],
                id: b[6],
                tag: b[7],
            })
            .collect()
    }

    /// (ptr, size, id, tag) of each live allocation but the harness's stats block.
    fn leaks(&mut self) -> Vec<(u32, u32, u32, u32)> {
        let scratch = self.h.scratch();
        self.walk("debug_live", 4, 3).into_iter().map(|r| (r[0], r[1], r[2], r[3])).filter(|r| r.0 != scratch).collect()
    }

    fn id_of(&mut self, ptr: u32) -> u32 {
        self.leaks().iter().find(|l| l.0 == ptr).map(|l| l.2).expect("live")
    }
}

fn one(reports: &[Report]) -> Report {
    assert_eq!(reports.len(), 1, "exactly one report: {reports:?}");
    reports[0]
}

#[test]
fn an_overrun_by_one_byte_is_reported_on_free() {
    let mut d = Debug::new();
    let p = d.h.alloc_filled(10, 0x11);
    let id = d.id_of(p);
    d.h.write(p + 10, &[0]); // a string's terminator one past the end
    let r = one(&d.reports_of(|d| d.h.deallocate(p)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (OVERRUN, p, id, p + 10));
    // The call then went on as in the default module: the block is freed, the heap sound.
    assert_eq!(d.h.size(p), 0);
    assert_eq!(d.h.stats().rejected_frees, 0);
    d.h.assert_sound();
}

#[test]
fn an_overrun_is_reported_by_reallocate_by_check_and_when_a_mark_drops_the_block() {
    let mut d = Debug::new();
    let p = d.h.alloc_filled(24, 1);
    d.h.write(p + 26, &[0xAB]); // the third byte past the end
    let id = d.id_of(p);
    let r = one(&d.reports_of(|d| {
        d.h.reallocate(p, 8);
    }));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (OVERRUN, p, id, p + 26));

    let q = d.h.alloc_filled(40, 2);
    d.h.write(q + 40, &[9, 9]);
    let id = d.id_of(q);
    let mut code = 0;
    let r = one(&d.reports_of(|d| code = d.h.check()));
    assert_eq!(code, BROKEN_CANARY);
    assert_eq!((r.code, r.ptr, r.id, r.detail), (OVERRUN, q, id, q + 40));

    let m = d.h.free_get_mark();
    let in_mark = d.h.alloc_filled(100, 3);
    d.h.write(in_mark + 100, &[0]);
    let id = d.id_of(in_mark);
    let r = one(&d.reports_of(|d| d.h.free_to_mark(m)));
    assert_eq!((r.code, r.ptr, r.id), (OVERRUN, in_mark, id));
}

#[test]
fn a_write_after_free_is_reported_when_the_block_is_reused() {
    let mut d = Debug::new();
    let p = d.h.alloc_filled(64, 5);
    let _pin = d.h.alloc_filled(8, 6); // keeps p off the top: it goes to a bin
    let id = d.id_of(p);
    d.h.deallocate(p);
    d.h.write(p + 20, &[0x42]); // a dangling pointer writes one byte
    let mut again = 0;
    let r = one(&d.reports_of(|d| again = d.h.allocate(64)));
    assert_eq!(again, p, "the block came back from its bin");
    assert_eq!((r.code, r.ptr, r.id, r.detail), (WRITE_AFTER_FREE, p, id, p + 20));
    assert_ne!(d.id_of(again), id, "a new allocation has a new id");
    d.h.assert_sound();
}

#[test]
fn a_write_after_free_above_the_top_and_in_a_merged_block_is_found() {
    let mut d = Debug::new();
    // The last block goes back to the top when freed: its bytes are still watched.
    let last = d.h.alloc_filled(300, 7);
    let id = d.id_of(last);
    d.h.deallocate(last);
    d.h.write(last + 299, &[0]);
    let r = one(&d.reports_of(|d| {
        d.h.allocate(400);
    }));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (WRITE_AFTER_FREE, last, id, last + 299));

    // Three neighbours freed merge into one free block; a write into the middle one is found
    // by check() (and when the memory is handed out again).
    let a = d.h.alloc_filled(200, 1);
    let b = d.h.alloc_filled(200, 2);
    let c = d.h.alloc_filled(200, 3);
    let _pin = d.h.alloc_filled(8, 4);
    let id_b = d.id_of(b);
    for p in [a, c, b] {
        d.h.deallocate(p);
    }
    assert_eq!(d.h.check(), 0, "poison intact after the merges");
    d.h.write(b + 100, &[1]);
    let mut code = 0;
    let r = one(&d.reports_of(|d| code = d.h.check()));
    assert_eq!(code, BROKEN_POISON);
    assert_eq!((r.code, r.ptr, r.id, r.detail), (WRITE_AFTER_FREE, b, id_b, b + 100));
}

#[test]
fn double_free_and_bad_pointers_are_reported_with_their_reason() {
    let mut d = Debug::new();
    let p = d.h.alloc_filled(32, 1);
    let _pin = d.h.alloc_filled(8, 2);
    let id = d.id_of(p);
    d.h.deallocate(p);
    let r = one(&d.reports_of(|d| d.h.deallocate(p)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (BAD_DEALLOCATE, p, id, ALREADY_FREE));
    let r = one(&d.reports_of(|d| assert_eq!(d.h.reallocate(p, 10), 0)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (BAD_REALLOCATE, p, id, ALREADY_FREE));

    let live = d.h.alloc_filled(64, 3);
    let top = d.h.stats().heap_top;
    for (ptr, reason) in [(live + 3, MISALIGNED), (live + 16, NOT_LIVE), (8, OUTSIDE), (top + 64, OUTSIDE)] {
        let r = one(&d.reports_of(|d| d.h.deallocate(ptr)));
        assert_eq!((r.code, r.ptr, r.id, r.detail), (BAD_DEALLOCATE, ptr, 0, reason), "pointer {ptr:#x}");
    }
    assert!(d.reports_of(|d| d.h.deallocate(0)).is_empty(), "freeing null is no problem");
    assert_eq!(d.h.stats().rejected_frees, 6, "counted as in the default module");
    d.h.assert_sound();
}

#[test]
fn an_underrun_into_a_header_is_reported_as_a_smashed_header_not_a_double_free() {
    let mut d = Debug::new();
    let _before = d.h.alloc_filled(16, 1); // an intact neighbour: nobody to blame
    // The address first holds an allocation that is freed: the ring of frees remembers its id.
    let old = d.h.alloc_filled(24, 2);
    let _pin = d.h.alloc_filled(8, 3);
    let old_id = d.id_of(old);
    d.h.deallocate(old);
    let p = d.h.alloc_filled(24, 4);
    assert_eq!(p, old, "handed out again from its bin");
    let id = d.id_of(p);
    assert_ne!(id, old_id);
    let saved = d.h.read_u32(p - 4);
    d.h.write(p - 1, &[0x41]); // one byte before the block

    let r = one(&d.reports_of(|d| d.h.deallocate(p)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (BAD_DEALLOCATE, p, 0, SMASHED_HEADER));
    let r = one(&d.reports_of(|d| assert_eq!(d.h.reallocate(p, 40), 0)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (BAD_REALLOCATE, p, 0, SMASHED_HEADER));
    assert_eq!(d.h.size(p), 0);
    assert_eq!(d.h.stats().rejected_frees, 2, "refused and counted as in the default module");

    // check(): the core's code for a wrong tag, and the block it found.
    let mut code = 0;
    let r = one(&d.reports_of(|d| code = d.h.check()));
    assert_eq!(code, 7);
    assert_eq!((r.code, r.ptr, r.id, r.detail), (CORRUPTED, p, 0, 7));
    // The walks list the block with nothing read through its smashed tag.
    let b = d.blocks().into_iter().find(|b| b.ptr == p).expect("the walk reaches the block");
    assert_eq!((b.state, b.request, b.id, b.tag), (USED, 0, 0, 0));

    // Repaired, the block is live again with its own id and frees without a report.
    d.h.write_u32(p - 4, saved);
    assert_eq!(d.id_of(p), id);
    assert!(d.reports_of(|d| d.h.deallocate(p)).is_empty());
    d.h.assert_sound();

    // An underrun of a mark's first block: the block before it is the mark's control block.
    d.h.free_get_mark();
    let first = d.h.allocate(8);
    let blocks = d.blocks();
    let i = blocks.iter().position(|b| b.ptr == first).unwrap();
    assert_eq!(blocks[i - 1].state, CONTROL);
    d.h.write(first - 2, &[0, 0]);
    let r = one(&d.reports_of(|d| d.h.deallocate(first)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (BAD_DEALLOCATE, first, 0, SMASHED_HEADER));
}

#[test]
fn an_overrun_across_the_next_header_blames_the_block_before_and_prints_no_smashed_id() {
    let mut d = Debug::new();
    let a = d.h.alloc_filled(10, 1);
    let b0 = d.h.alloc_filled(10, 2);
    let _pin = d.h.alloc_filled(8, 3);
    d.h.deallocate(b0);
    let b = d.h.alloc_filled(10, 4);
    assert_eq!(b, b0, "the ring of frees knows b's address from another allocation");
    // a's 10 bytes, its canary, id and tag, its slack, and all of b's header: 0x55 each.
    d.h.write(a, &vec![0x55; (b - a) as usize]);

    let rs = d.reports_of(|d| d.h.deallocate(b));
    assert_eq!(rs.len(), 2, "{rs:?}");
    let (overrun, smashed) = (rs[0], rs[1]);
    assert_eq!(
        (overrun.code, overrun.ptr, overrun.id, overrun.detail),
        (OVERRUN, a, 0, a + 10),
        "a named by its pointer: its id word was overwritten"
    );
    assert_eq!((smashed.code, smashed.ptr, smashed.id, smashed.detail), (BAD_DEALLOCATE, b, 0, SMASHED_HEADER));

    // a's own free: the overrun again, without the bytes written over its id read as one; the
    // core would merge through b's smashed header, so a stays allocated.
    let r = one(&d.reports_of(|d| d.h.deallocate(a)));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (OVERRUN, a, 0, a + 10));
    assert_eq!(d.h.size(a), 10);
    let r = one(&d.reports_of(|d| assert_eq!(d.h.reallocate(a, 100), 0)));
    assert_eq!((r.code, r.ptr, r.id), (OVERRUN, a, 0));
    assert!(d.leaks().contains(&(a, 10, 0, 0)), "listed, with no id read from its stamp: {:?}", d.leaks());

    // check(): the size in b's header cannot be right (code 3); it names b and blames a.
    let mut code = 0;
    let rs = d.reports_of(|d| code = d.h.check());
    assert_eq!(code, 3);
    assert_eq!(rs.iter().map(|r| (r.code, r.ptr, r.id)).collect::<Vec<_>>(), [(OVERRUN, a, 0), (CORRUPTED, b, 0)]);
    let all = d.reports(0);
    assert!(all.iter().all(|r| r.id == 0), "no id read from smashed memory, none of b's address's past: {all:?}");
}

#[test]
fn a_smashed_header_names_the_block_before_by_id_when_its_id_survived() {
    let mut d = Debug::new();
    let a = d.h.alloc_filled(20, 1);
    let b = d.h.alloc_filled(20, 2);
    let id_a = d.id_of(a);
    d.h.write(a + 20, &[0]); // a's canary: a string's terminator
    d.h.write(b - 4, &[0; 4]); // and b's tag
    let rs = d.reports_of(|d| d.h.deallocate(b));
    assert_eq!(rs.len(), 2, "{rs:?}");
    assert_eq!((rs[0].code, rs[0].ptr, rs[0].id, rs[0].detail), (OVERRUN, a, id_a, a + 20));
    assert_eq!((rs[1].code, rs[1].ptr, rs[1].id, rs[1].detail), (BAD_DEALLOCATE, b, id_a, SMASHED_HEADER));

    // With the trap on, both are recorded before it traps.
    d.call::<u32, ()>("debug_set_trap", 1);
    let before = d.report_count();
    d.h.call_named::<u32, ()>("deallocate", b).expect_err("a smashed header must trap");
    let rs = d.reports(before);
    assert_eq!(
        rs.iter().map(|r| (r.code, r.id, r.detail)).collect::<Vec<_>>(),
        [(OVERRUN, id_a, a + 20), (BAD_DEALLOCATE, id_a, SMASHED_HEADER)]
    );
}

#[test]
fn a_stale_mark_is_reported() {
    let mut d = Debug::new();
    let m = d.h.free_get_mark();
    d.h.free_to_mark(m);
    let r = one(&d.reports_of(|d| d.h.free_to_mark(m)));
    assert_eq!((r.code, r.ptr, r.detail), (STALE_MARK, m, 0));
    assert_eq!(d.h.stats().rejected_marks, 1);
}

#[test]
fn leaks_are_listed_with_size_id_and_caller_tag_resumably() {
    let mut d = Debug::new();
    d.call::<u32, ()>("debug_set_tag", 101);
    let a = d.h.allocate(10);
    d.call::<u32, ()>("debug_set_tag", 202);
    let b = d.h.allocate(20);
    let c = d.h.allocate_aligned(30, 256);
    let gone = d.h.allocate(40);
    let e = d.h.reallocate(0, 50);
    d.h.deallocate(gone);
    let b = d.h.reallocate(b, 2000); // moved or grown: it keeps its id and tag
    let leaks = d.leaks();
    let ids: Vec<u32> = leaks.iter().map(|l| l.2).collect();
    let mut by_ptr: Vec<(u32, u32, u32)> = leaks.iter().map(|l| (l.0, l.1, l.3)).collect();
    by_ptr.sort();
    let mut expected = vec![(a, 10, 101), (b, 2000, 202), (c, 30, 202), (e, 50, 202)];
    expected.sort();
    assert_eq!(by_ptr, expected);
    assert!(leaks.windows(2).all(|w| w[0].0 < w[1].0), "in address order");
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 4, "distinct ids: {ids:?}");
    assert_eq!(d.h.stats().live_blocks, 4);
}

#[test]
fn the_block_walk_tiles_the_heap_and_agrees_with_stats() {
    let mut d = Debug::new();
    let mut rng = Rng::seeded(7);
    let mut live = Vec::new();
    let mut marks = Vec::new();
    for step in 0..600 {
        match rng.below32(10) {
            0..=4 => live.push(d.h.allocate(rng.below32(300))),
            5..=7 if !live.is_empty() => {
                let p = live.swap_remove(rng.index(live.len()));
                d.h.deallocate(p)
            }
            8 if step % 50 == 0 => marks.push(d.h.free_get_mark()),
            _ => {}
        }
    }
    let s = d.h.raw_stats(); // the harness's stats block is a live block of the walk too
    let blocks = d.blocks();
    assert_eq!((blocks[0].state, blocks[0].depth), (CONTROL, 0), "segment 0's control block first");
    // segment 0's control block, the records' end right below `__heap_base`, reaches to the
    // first block, which is 8 mod 16 (its payload 16-aligned)
    let heap_base = d.h.global("__heap_base");
    assert_eq!(blocks[1].address, heap_base | 8, "segment 0's first block");
    for w in blocks.windows(2) {
        assert_eq!(w[0].address + w[0].size, w[1].address, "blocks tile the heap: {w:?}");
    }
    let last = blocks.last().unwrap();
    assert_eq!((last.state, last.address, last.address + last.size), (TOP, s.heap_top, s.heap_start + s.heap_bytes));
    let count = |state| blocks.iter().filter(|b| b.state == state).count() as u32;
    assert_eq!(count(USED), s.live_blocks);
    assert_eq!(count(CONTROL), 1 + marks.len() as u32);
    assert!(count(BINNED) > 0 && count(FREE) > 0, "both kinds of free block: {} {}", count(BINNED), count(FREE));
    let free: u32 = blocks.iter().filter(|b| matches!(b.state, FREE | BINNED | TOP)).map(|b| b.size).sum();
    assert_eq!(free, s.free_bytes);
    let used: u32 = blocks.iter().filter(|b| b.state == USED).map(|b| b.request).sum();
    assert_eq!(used, s.live_bytes);
    for b in blocks.iter().filter(|b| b.state == USED) {
        assert_eq!((b.ptr, d.h.size(b.ptr)), (b.address + 8, b.request));
        assert!(b.id != 0);
    }
    let depths: Vec<u32> = blocks.iter().filter(|b| b.state == CONTROL).map(|b| b.depth).collect();
    assert_eq!(depths, (0..=marks.len() as u32).collect::<Vec<_>>());
}

#[test]
fn the_trap_switch_stops_at_the_first_problem_after_reporting_it() {
    let mut d = Debug::new();
    let p = d.h.allocate(16);
    d.h.deallocate(p);
    d.call::<u32, ()>("debug_set_trap", 1);
    let before = d.report_count();
    let err = d.h.call_named::<u32, ()>("deallocate", p).expect_err("a double free must trap");
    assert!(format!("{err:?}").contains("unreachable"), "{err:?}");
    let r = one(&d.reports(before));
    assert_eq!((r.code, r.detail), (BAD_DEALLOCATE, ALREADY_FREE));
}

#[test]
fn the_check_switch_finds_a_bug_at_the_next_call() {
    let mut d = Debug::new();
    d.call::<u32, ()>("debug_set_check", 1);
    let p = d.h.alloc_filled(48, 1);
    d.h.write(p + 48, &[0]);
    let r = one(&d.reports_of(|d| {
        d.h.allocate(8);
    }));
    assert_eq!((r.code, r.ptr), (OVERRUN, p));
    d.h.write(p + 48, &[0xFD]); // repaired
    // A smashed header is a corrupted heap: check() reports the core's code.
    let q = d.h.alloc_filled(48, 2);
    let saved = d.h.read_u32(q - 8);
    d.h.write_u32(q - 8, 0x7FFF_FFF0);
    let r = one(&d.reports_of(|d| {
        d.h.allocate(8);
    }));
    assert_eq!((r.code, r.ptr, r.id, r.detail), (CORRUPTED, q, 0, 3), "the smashed block, no neighbour to blame");
    d.h.write_u32(q - 8, saved);
    d.h.assert_sound();
}

#[test]
fn the_ring_keeps_the_last_64_reports() {
    let mut d = Debug::new();
    for i in 0..100u32 {
        d.h.deallocate(8 + 8 * i);
    }
    assert_eq!(d.report_count(), 100);
    let kept = d.reports(0);
    assert_eq!(kept.len(), 64);
    assert_eq!((kept[0].seq, kept[63].seq, kept[63].ptr), (36, 99, 8 + 8 * 99));
    assert_eq!(d.reports(90).len(), 10);
}

/// A correct program gets no report: long random runs (allocate, aligned, reallocate in place
/// and moving, free, marks, free_all) with `check()` after every call.
#[test]
fn a_correct_program_gets_no_report() {
    for seed in 1..=4u64 {
        let mut d = Debug::new();
        d.call::<u32, ()>("debug_set_check", 1);
        d.call::<u32, ()>("debug_set_trap", 1);
        let mut rng = Rng::seeded(seed);
        let mut live: Vec<(u32, u32, u8)> = Vec::new();
        let mut marks: Vec<(u32, usize)> = Vec::new();
        for step in 0..3000u32 {
            // Never 0 bytes: `size()` then tells the live allocations after a mark.
            let size = 1 + if rng.below32(8) == 0 { rng.below32(5000) } else { rng.below32(200) };
            let fill = step as u8;
            match rng.below32(20) {
                0..=7 => {
                    let p = if rng.below32(4) == 0 {
                        d.h.allocate_aligned(size, 8 << rng.below32(6))
                    } else {
                        d.h.allocate(size)
                    };
                    d.h.fill(p, size, fill);
                    live.push((p, size, fill));
                }
                8..=12 if !live.is_empty() => {
                    let (p, size, fill) = live.swap_remove(rng.index(live.len()));
                    d.h.assert_filled(p, size, fill);
                    d.h.deallocate(p);
                }
                13..=16 if !live.is_empty() => {
                    let i = rng.index(live.len());
                    let (p, old, fill) = live[i];
                    let q = d.h.reallocate(p, size);
                    d.h.assert_filled(q, old.min(size), fill);
                    d.h.fill(q, size, fill);
                    live[i] = (q, size, fill);
                }
                17 => marks.push((d.h.free_get_mark(), live.len())),
                18 if !marks.is_empty() => {
                    // Blocks made after the mark go; reallocations after it moved some blocks
                    // into it too: keep only what is still live.
                    let (m, _) = marks.pop().unwrap();
                    d.h.free_to_mark(m);
                    live.retain(|&(p, size, _)| d.h.size(p) == size);
                }
                19 if step % 500 == 0 => {
                    d.h.free_all();
                    live.clear();
                    marks.clear();
                }
                _ => {}
            }
        }
        assert_eq!(d.report_count(), 0, "seed {seed}: {:?}", d.reports(0));
        d.h.assert_sound();
    }
}
