//! `discardable(from, page, out, max)` (src/core/discard.rs): the pages the heap promises not to
//! touch until it takes them again. Every listed range is filled with a pattern (or zeroed, as a
//! discard leaves it), a random program runs, and only the bytes around the blocks it handed out
//! (and the marks' control blocks) may have changed; live blocks keep their contents, `check()`
//! stays 0, `calloc` still returns zeros.

mod common;

use common::Call;
use host_tests::{Heap, Instance, Layout, Rng, debug_flavor, repo_module};
use wasmtime::{Memory, MemoryType};

/// Records of the out buffer (8 bytes each): a listing resumes when there are more.
const OUT_RECORDS: u32 = 64;
const PATTERN: u8 = 0xA5;

/// Every range `discardable` lists at `page`, read through a live block of the heap (`out`),
/// resumed from the last end while the buffer comes back full.
fn discardable(h: &mut Heap, out: u32, page: u32) -> Vec<(u32, u32)> {
    let (mut ranges, mut from) = (Vec::new(), 0);
    loop {
        let n: u32 = h.call_named("discardable", (from, page, out, OUT_RECORDS)).unwrap();
        assert!(n <= OUT_RECORDS, "discardable({from:#x}, {page}) returned {n}");
        for i in 0..n {
            let (start, len) = (h.read_u32(out + 8 * i), h.read_u32(out + 8 * i + 4));
            assert!(start % page == 0 && len % page == 0 && len > 0, "range {start:#x}+{len:#x} at page {page}");
            assert!(start >= from, "ranges out of order");
            ranges.push((start, len));
            from = start + len;
        }
        if n < OUT_RECORDS {
            return ranges;
        }
    }
}

/// The window of memory that handing out the block at `ptr` may write, read right after the
/// call: the block, the 12 bytes of the rest split off after it, the 4 in front (a gap's footer),
/// and a gap's first 12 bytes where one was cut in front (its header says `PREV_FREE`).
fn hand_out_window(h: &Heap, ptr: u32, windows: &mut Vec<(u32, u32)>) {
    let block = ptr - 8;
    let header = h.read_u32(block);
    windows.push((block - 4, block + (header & !7) + 12));
    if header & 2 != 0 {
        let gap = block - h.read_u32(block - 4);
        windows.push((gap, gap + 12));
    }
}

/// A random program over `h` between two listings, with blocks filled with their own byte;
/// what it hands out goes to `windows`.
struct Program {
    rng: Rng,
    live: Vec<(u32, u32, u8)>,
    marks: Vec<(u32, usize)>,
    calloc: bool,
}

impl Program {
    fn step(&mut self, h: &mut Heap, windows: &mut Vec<(u32, u32)>) {
        let rng = &mut self.rng;
        let byte = rng.below32(250) as u8 + 1;
        match rng.below32(16) {
            0..=5 => {
                let size = [rng.below32(64), rng.below32(600), rng.below32(20_000), rng.below32(200_000)][rng.index(4)];
                let align = if rng.chance(1, 4) { 1 << rng.below32(17) } else { 8 };
                let p = h.allocate_aligned(size, align);
                if p != 0 {
                    hand_out_window(h, p, windows);
                    h.fill(p, size, byte);
                    self.live.push((p, size, byte));
                }
            }
            6 if self.calloc => {
                let size = rng.below32(30_000);
                let p: u32 = h.call_named("calloc", (1u32, size)).unwrap();
                if p != 0 {
                    hand_out_window(h, p, windows);
                    assert!(h.read(p, size).iter().all(|&b| b == 0), "calloc({size}) at {p:#x} is not zero");
                    h.fill(p, size, byte);
                    self.live.push((p, size, byte));
                }
            }
            7..=10 if !self.live.is_empty() => {
                let (p, ..) = self.live.swap_remove(rng.index(self.live.len()));
                h.deallocate(p);
            }
            11..=12 if !self.live.is_empty() => {
                let i = rng.index(self.live.len());
                let (p, size, old) = self.live[i];
                let new = rng.below32(40_000);
                let q = h.reallocate(p, new);
                if q != 0 {
                    hand_out_window(h, q, windows);
                    h.assert_filled(q, size.min(new), old);
                    h.fill(q, new, byte);
                    self.live[i] = (q, new, byte);
                }
            }
            13 if self.marks.len() < 8 => {
                let top = h.raw_stats().heap_top;
                let m = h.free_get_mark();
                if m != 0 {
                    windows.push((top, h.raw_stats().heap_top));
                    self.marks.push((m, self.live.len()));
                }
            }
            14 if !self.marks.is_empty() => {
                let (m, kept) = self.marks.pop().unwrap();
                h.free_to_mark(m);
                // What was allocated (or moved) after the mark is gone: the program forgets the
                // blocks it allocated since; a block it reallocated since may be gone too.
                self.live.truncate(kept);
                self.live.retain(|&(p, size, _)| h.size(p) == size);
            }
            _ => {}
        }
    }
}

/// Lists at `page`, fills every range with `fill`, runs `steps` steps of the program, and checks
/// that with a pattern only the windows of what it handed out changed. Returns how many listed
/// bytes changed inside those windows.
fn phase(h: &mut Heap, out: u32, program: &mut Program, page: u32, fill: u8, steps: u32) -> usize {
    let ranges = discardable(h, out, page);
    for &(start, len) in &ranges {
        h.fill(start, len, fill);
    }
    let mut windows = Vec::new();
    for _ in 0..steps {
        program.step(h, &mut windows);
    }
    let mut changed = 0;
    for &(start, len) in &ranges {
        for (i, &b) in h.read(start, len).iter().enumerate() {
            let at = start + i as u32;
            if b != fill {
                assert!(
                    windows.iter().any(|&(lo, hi)| lo <= at && at < hi),
                    "byte {at:#x} of listed range {start:#x}+{len:#x} changed outside what was handed out"
                );
                changed += 1;
            }
        }
    }
    assert_eq!(h.check(), 0, "check() after a phase");
    for &(p, size, byte) in &program.live {
        h.assert_filled(p, size, byte);
    }
    changed
}

fn run(h: &mut Heap, calloc: bool, seed: u64) {
    let out = h.allocate(8 * OUT_RECORDS);
    let mut program = Program { rng: Rng::seeded(seed), live: Vec::new(), marks: Vec::new(), calloc };
    let mut changed = 0;
    for round in 0..40u32 {
        let page = if round % 2 == 0 { 4096 } else { 65536 };
        // A pattern shows every write; zeros are what a discard really leaves.
        let fill = if round % 3 == 2 { 0 } else { PATTERN };
        changed += phase(h, out, &mut program, page, fill, 25);
    }
    assert!(changed > 0, "no listed byte was ever taken again: the test saw nothing");
}

#[test]
fn listed_ranges_change_only_where_blocks_are_handed_out() {
    let mut h = Heap::new();
    if debug_flavor() {
        // The debug flavor lists nothing: its poison is checked on reuse (discard.rs).
        let out = h.allocate(8 * OUT_RECORDS);
        assert_eq!(discardable(&mut h, out, 4096), vec![]);
        return;
    }
    run(&mut h, false, 0xD15C);
}

#[test]
fn calloc_still_returns_zeros_over_listed_pages_full_of_garbage() {
    let mut h = Heap::of(&repo_module("wasm/wasmheap-c.wasm").module, false, 256 << 20);
    run(&mut h, true, 0xCA11);
}

#[test]
fn a_page_that_is_not_a_power_of_two_is_refused_and_nothing_changes() {
    let mut h = Heap::new();
    let out = h.allocate(8 * OUT_RECORDS);
    let before = h.mem().to_vec();
    for page in [0u32, 3, 4095, 0xFFFF_FFFF] {
        let n: u32 = h.call_named("discardable", (0u32, page, out, OUT_RECORDS)).unwrap();
        assert_eq!(n, u32::MAX, "page {page}");
    }
    assert!(h.mem() == &before[..], "a refused listing wrote memory");
    // max = 0 writes nothing and says so
    let n: u32 = h.call_named("discardable", (0u32, 4096u32, out, 0u32)).unwrap();
    assert_eq!(n, 0);
    assert!(h.mem() == &before[..]);
}

/// A fresh heap lists the memory above its top; a freed large block in the middle is listed
/// from its 12th byte to its last 4, in whole pages.
#[test]
fn a_freed_block_in_the_middle_is_listed_in_whole_pages() {
    if debug_flavor() {
        return;
    }
    let mut h = Heap::new();
    let out = h.allocate(8 * OUT_RECORDS);
    let a = h.allocate(20_000);
    let _pin = h.allocate(16);
    h.deallocate(a);
    let s = h.raw_stats();
    let ranges = discardable(&mut h, out, 4096);
    let block = a - 8;
    let inside = ((block + 12).next_multiple_of(4096), (block + (h.read_u32(block) & !7) - 4) / 4096 * 4096);
    let above = (s.heap_top.next_multiple_of(4096), s.heap_start + s.heap_bytes);
    let expected: Vec<(u32, u32)> =
        [inside, above].into_iter().filter(|(lo, hi)| lo < hi).map(|(lo, hi)| (lo, hi - lo)).collect();
    assert_eq!(ranges, expected);
}

/// The import-memory flavor lists inside the region `init` gave it and nowhere else: nothing
/// before `init`, then the pages of a freed block and those above the top up to the region's end.
#[test]
fn the_import_memory_flavor_lists_inside_its_region_only() {
    let mut store = common::store();
    store.set_fuel(u64::MAX).unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(8, None)).unwrap();
    memory.data_mut(&mut store).fill(0x5C);
    let module = &repo_module("wasm/wasmheap-import-memory.wasm").module;
    let instance = wasmtime::Instance::new(&mut store, module, &[memory.into()]).expect("instantiate");
    let mut h: Instance = Instance::from_parts(store, instance, memory, Layout::Imported { start: 0 });
    let out = 0x100; // below the region: the host's own memory
    assert_eq!(h.call::<_, u32>("discardable", (0u32, 4096u32, out, 8u32)), 0, "before init");
    let (start, end) = (0x1_0000u32, 0x6_0000u32);
    assert_eq!(h.call::<_, u32>("init", (start, end)), 1);
    let a: u32 = h.call("allocate", 100_000u32);
    let _pin: u32 = h.call("allocate", 16u32);
    h.call::<_, ()>("deallocate", a);
    let n: u32 = h.call("discardable", (0u32, 4096u32, out, 8u32));
    let ranges: Vec<(u32, u32)> = (0..n).map(|i| (h.read_u32(out + 8 * i), h.read_u32(out + 8 * i + 4))).collect();
    let block = a - 8;
    let first = ((block + 12).next_multiple_of(4096), (block + (h.read_u32(block) & !7) - 4) / 4096 * 4096);
    assert_eq!(ranges.len(), 2, "{ranges:x?}");
    assert_eq!(ranges[0], (first.0, first.1 - first.0));
    assert_eq!(ranges[1].0 + ranges[1].1, end, "the last range ends where the region does");
    assert_eq!(h.call::<_, u32>("check", ()), 0);
}
