//! Native unit tests of the core: a heap in a host buffer, checked after every step.

use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use crate::{CONTROL_SIZE, Heap, Mem, Pool, ROOT_SIZE, Stats};

const START: u32 = 8;
/// Miri (scripts/test runs these tests under it) is some 100 times slower: the long loops run
/// shorter there, the same code paths all the same.
const MIRI: bool = cfg!(miri);

struct TestHeap {
    _buffer: Vec<u64>,
    heap: Heap<Pool>,
}

impl TestHeap {
    /// A heap whose memory starts at `initial_end` and may grow up to `limit`.
    fn new(initial_end: u32, limit: u32) -> TestHeap {
        let mut buffer = vec![0u64; limit as usize / 8];
        let mem = unsafe { Mem::new(buffer.as_mut_ptr() as *mut u8) };
        let heap = unsafe { Heap::new(mem, START, Pool { limit }) };
        assert!(heap.ensure_init(initial_end));
        TestHeap { _buffer: buffer, heap }
    }

    fn with_limit(limit: u32) -> TestHeap {
        TestHeap::new(65536, limit)
    }

    fn bytes(&self, payload: u32, len: u32) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.heap.mem.ptr(payload), len as usize) }
    }

    fn sound(&self) -> Stats {
        assert_eq!(self.heap.verify(), Ok(()));
        self.heap.stats()
    }

    fn empty_top(&self) -> u32 {
        START + ROOT_SIZE + CONTROL_SIZE
    }
}

#[test]
fn allocate_write_free_and_give_back_the_top() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(10);
    let b = t.heap.allocate(100);
    let c = t.heap.allocate(0);
    assert!(a % 8 == 0 && b % 8 == 0 && c % 8 == 0 && a != 0 && c != 0);
    assert_eq!((t.heap.size(a), t.heap.size(b), t.heap.size(c)), (10, 100, 0));
    t.bytes(b, 100).fill(0xAB);
    let s = t.sound();
    assert_eq!((s.live_blocks, s.live_bytes, s.allocations), (3, 110, 3));
    t.heap.deallocate(a);
    t.heap.deallocate(c);
    assert_eq!(t.sound().live_blocks, 1);
    assert!(t.bytes(b, 100).iter().all(|&x| x == 0xAB));
    t.heap.deallocate(b);
    let s = t.sound();
    assert_eq!((s.live_blocks, s.live_bytes, s.frees), (0, 0, 3));
    assert_eq!(s.heap_top, t.empty_top(), "everything merged back into the top");
}

#[test]
fn freed_block_is_reused_and_neighbours_merge() {
    let t = TestHeap::with_limit(1 << 20);
    let blocks: Vec<u32> = (0..5).map(|_| t.heap.allocate(40)).collect();
    t.heap.deallocate(blocks[1]);
    t.heap.deallocate(blocks[3]);
    t.sound();
    assert_eq!(t.heap.allocate(40), blocks[3], "LIFO reuse of the same class");
    t.heap.deallocate(blocks[2]);
    t.sound();
    // blocks[1] and blocks[2] merged: 2 * 48 bytes, room for a 88-byte request
    assert_eq!(t.heap.allocate(88), blocks[1]);
    t.sound();
}

#[test]
fn small_blocks_are_binned_and_reused_by_exact_size() {
    let t = TestHeap::with_limit(1 << 20);
    let blocks: Vec<u32> = (0..6).map(|_| t.heap.allocate(40)).collect();
    t.heap.deallocate(blocks[1]);
    t.heap.deallocate(blocks[3]);
    let s = t.sound();
    assert_eq!((s.live_blocks, s.frees), (4, 2));
    assert_eq!(t.heap.newest().binned_bytes, 2 * 48);
    assert_eq!((t.heap.size(blocks[1]), t.heap.size(blocks[3])), (0, 0));
    // a bin serves its own size only: a 96-byte block is cut at the top
    assert!(t.heap.allocate(88) > blocks[5]);
    // the same size comes back from its bin, newest first, and is live again
    assert_eq!(t.heap.allocate(33), blocks[3]);
    assert_eq!(t.heap.allocate(40), blocks[1]);
    assert_eq!(t.heap.size(blocks[3]), 33);
    assert_eq!(t.sound().free_bytes, t.sound().heap_bytes + START - t.sound().heap_top);
}

#[test]
fn binned_blocks_are_rejected_exactly() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(24);
    let _pin = t.heap.allocate(24);
    t.heap.deallocate(a);
    assert_eq!(t.heap.newest().binned_bytes, 32);
    assert_eq!(t.heap.size(a), 0);
    assert_eq!(t.heap.reallocate(a, 10), 0);
    t.heap.deallocate(a); // double free of a binned block
    let s = t.sound();
    assert_eq!((s.rejected_frees, s.frees, s.live_blocks), (2, 1, 1));
    assert_eq!(s.free_bytes - (s.heap_bytes + START - s.heap_top), 32, "the binned block counts as free");
}

#[test]
fn binned_blocks_merge_when_a_neighbour_is_freed() {
    let t = TestHeap::with_limit(1 << 20);
    let blocks: Vec<u32> = (0..5).map(|_| t.heap.allocate(40)).collect();
    t.heap.deallocate(blocks[1]); // binned
    t.heap.deallocate(blocks[3]); // binned
    t.heap.deallocate(blocks[2]); // merges both: one 144-byte free block, binned again
    let segment = t.heap.newest();
    assert_eq!((segment.binned_bytes, segment.free_bytes), (144, 0));
    assert_eq!(t.heap.allocate(136), blocks[1]);
    t.sound();
    // a block grows in place into a binned successor
    let (a, b, _pin) = (t.heap.allocate(16), t.heap.allocate(16), t.heap.allocate(16));
    t.heap.deallocate(b);
    assert_eq!(t.heap.newest().binned_bytes, 24);
    assert_eq!(t.heap.reallocate(a, 40), a);
    assert_eq!(t.heap.newest().binned_bytes, 0);
    t.sound();
    // and the top comes down through a binned block when the block above it is freed
    let top = t.sound().heap_top;
    let (c, d) = (t.heap.allocate(16), t.heap.allocate(16));
    t.heap.deallocate(c);
    t.heap.deallocate(d);
    assert_eq!(t.sound().heap_top, top);
}

#[test]
fn every_small_block_freed_between_used_neighbours_is_binned() {
    let t = TestHeap::with_limit(1 << 20);
    let blocks: Vec<u32> = (0..600).map(|_| t.heap.allocate(16)).collect(); // 24-byte blocks
    for &b in blocks.iter().step_by(2) {
        t.heap.deallocate(b);
    }
    // 300 freed blocks of 24 bytes, all binned (bins have no cap), none listed
    let s = t.sound();
    let segment = t.heap.newest();
    assert_eq!((segment.binned_bytes, segment.free_bytes), (300 * 24, 0));
    assert_eq!(s.live_blocks, 300);
}

#[test]
fn freeing_the_last_live_block_gives_the_segment_back() {
    let t = TestHeap::with_limit(1 << 20);
    let blocks: Vec<u32> = (0..50).map(|i| t.heap.allocate(8 + i * 37)).collect();
    for &b in blocks.iter().step_by(2) {
        t.heap.deallocate(b);
    }
    assert!(t.heap.newest().binned_bytes > 0);
    for &b in blocks.iter().skip(1).step_by(2) {
        t.heap.deallocate(b);
    }
    let s = t.sound();
    assert_eq!((s.heap_top, s.live_blocks), (t.empty_top(), 0));
    assert_eq!(t.heap.newest().binned_bytes + t.heap.newest().free_bytes, 0);
    for &b in &blocks {
        assert_eq!(t.heap.size(b), 0, "released pointers stay dead");
    }
    assert_eq!(t.heap.allocate(8), blocks[0]);
    t.sound();
}

#[test]
fn a_corrupted_bin_is_found() {
    let t = TestHeap::with_limit(1 << 20);
    let (a, _pin, b, _pin2) = (t.heap.allocate(24), t.heap.allocate(24), t.heap.allocate(24), t.heap.allocate(24));
    t.heap.deallocate(a);
    t.heap.deallocate(b);
    assert_eq!(t.heap.newest().binned_bytes, 64);
    t.sound();
    // b's bin link (the word after its header) pointed into the middle of a block
    t.bytes(b - 4, 4).copy_from_slice(&(a + 8).to_le_bytes());
    assert_eq!(t.heap.check(), crate::Broken::Bin as u32);
}

#[test]
fn two_epochs_never_give_the_same_check_bits_at_one_place() {
    // and a spoiled tag (check bits inverted) never matches at its place in any of those epochs
    for (block, size) in [(4096, 16), (0x10_0000, 248), (0xFFFF_0000, 1 << 20), (0x2968, 24)] {
        let check = |epoch| crate::block::tag(block, crate::block::epoch_key(epoch), 0, size, size - 8) >> 13;
        let mut seen = std::collections::HashSet::new();
        let epochs = if MIRI { 1u32 << 8 } else { 1u32 << 16 };
        for epoch in 0..epochs {
            assert!(seen.insert(check(epoch)), "{block:#x} {epoch}");
        }
        for epoch in 0..epochs {
            let spoiled = crate::block::spoiled(check(epoch) << 13) >> 13;
            assert!(!seen.contains(&spoiled), "spoiled tag of epoch {epoch} at {block:#x} matches another");
        }
    }
}

#[test]
fn a_zero_region_sets_itself_up_on_the_first_allocation() {
    let limit = 1 << 20;
    let mut buffer = vec![0u64; limit as usize / 8];
    let mem = unsafe { Mem::new(buffer.as_mut_ptr() as *mut u8) };
    let heap = unsafe { Heap::new(mem, START, Pool { limit }) };
    // before: every pointer is rejected, and nothing but that counter is written
    assert!(!heap.is_initialized());
    for p in [8, START + ROOT_SIZE + CONTROL_SIZE + 8, 65536] {
        assert_eq!(heap.size(p), 0);
        heap.deallocate(p);
        assert_eq!(heap.reallocate(p, 8), 0);
    }
    assert!(!heap.is_initialized());
    let a = heap.allocate(10);
    assert_eq!(a, START + ROOT_SIZE + CONTROL_SIZE + 8);
    let s = heap.stats();
    assert_eq!((s.live_blocks, s.allocations, s.rejected_frees, s.heap_top), (1, 1, 6, a + 16));
    assert_eq!(heap.verify(), Ok(()));
    // an aligned request sets it up too
    buffer.fill(0);
    assert_ne!(heap.allocate_aligned(100, 4096), 0);
    assert_eq!(heap.verify(), Ok(()));
}

#[test]
fn sizes_that_cannot_fit_fail_without_wrapping() {
    let t = TestHeap::with_limit(1 << 20);
    for size in [u32::MAX, u32::MAX - 7, 0xFFFF_0001, 0x8000_0000, 1 << 20] {
        assert_eq!(t.heap.allocate(size), 0, "{size:#x}");
        assert_eq!(t.heap.allocate_aligned(size, 4096), 0);
    }
    let s = t.sound();
    assert_eq!((s.failures, s.live_blocks), (10, 0));
    assert_ne!(t.heap.allocate((1 << 20) - 4096), 0, "still usable");
}

#[test]
fn aligned_allocations_for_every_power_of_two() {
    let t = TestHeap::with_limit(8 << 20);
    let mut live = vec![];
    for shift in 0..=16 {
        let align = 1 << shift;
        let p = t.heap.allocate_aligned(24, align);
        assert!(p != 0 && p % align == 0 && p % 8 == 0, "align {align}: {p:#x}");
        assert_eq!(t.heap.size(p), 24);
        t.bytes(p, 24).fill(shift as u8);
        live.push(p);
        t.sound();
    }
    for bad in [0, 3, 6, 1 << 17, 1 << 31] {
        assert_eq!(t.heap.allocate_aligned(8, bad), 0);
    }
    for (shift, p) in live.iter().enumerate() {
        assert!(t.bytes(*p, 24).iter().all(|&x| x == shift as u8));
        t.heap.deallocate(*p);
        t.sound();
    }
    // aligned requests served from a free block in the lists
    let big = t.heap.allocate(100_000);
    let pin = t.heap.allocate(8);
    t.heap.deallocate(big);
    let p = t.heap.allocate_aligned(1000, 4096);
    assert!(p >= big && p < big + 100_000 && p % 4096 == 0);
    t.heap.deallocate(pin);
    t.heap.deallocate(p);
    assert_eq!(t.sound().heap_top, t.empty_top());
}

#[test]
fn reallocate_in_place_and_moving() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(16);
    t.bytes(a, 16).copy_from_slice(b"0123456789abcdef");
    // at the top: grows in place
    let a2 = t.heap.reallocate(a, 1000);
    assert_eq!(a2, a);
    assert_eq!(t.heap.size(a), 1000);
    // shrinks in place, the tail goes back
    assert_eq!(t.heap.reallocate(a, 8), a);
    assert_eq!(&t.bytes(a, 8)[..], b"01234567");
    let b = t.heap.allocate(64);
    let c = t.heap.allocate(64);
    t.heap.deallocate(b);
    // next block free: grows into it
    assert_eq!(t.heap.reallocate(a, 60), a);
    t.sound();
    // next block used: moves, keeps the contents
    let moved = t.heap.reallocate(a, 500);
    assert!(moved != a && moved != 0);
    assert_eq!(&t.bytes(moved, 8)[..], b"01234567");
    assert_eq!(t.heap.size(moved), 500);
    assert_eq!(t.heap.size(a), 0);
    let fresh = t.heap.reallocate(0, 5);
    assert!(fresh != 0 && t.heap.size(fresh) == 5, "realloc(0, n) allocates");
    t.heap.deallocate(c);
    let s = t.sound();
    assert_eq!(s.reallocations, 4);
}

#[test]
fn reallocate_failure_leaves_the_block_alone() {
    let t = TestHeap::new(65536, 65536);
    let a = t.heap.allocate(100);
    t.bytes(a, 100).fill(7);
    let _pin = t.heap.allocate(8);
    assert_eq!(t.heap.reallocate(a, 200_000), 0);
    assert_eq!(t.heap.size(a), 100);
    assert!(t.bytes(a, 100).iter().all(|&x| x == 7));
    assert_eq!(t.sound().failures, 1);
}

#[test]
fn bad_pointers_are_rejected_and_counted() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(64);
    let b = t.heap.allocate(64);
    t.bytes(b, 64).fill(0x5A);
    let before = t.sound();
    let bad = [a + 1, a + 4, a + 8, a + 16, b - 8, 8, START, 0xFFFF_FFF8, 1 << 20, t.empty_top() - 8];
    for p in bad {
        t.heap.deallocate(p);
        assert_eq!(t.heap.size(p), 0);
        assert_eq!(t.heap.reallocate(p, 10), 0);
    }
    t.heap.deallocate(0);
    t.heap.deallocate(a);
    t.heap.deallocate(a); // double free
    let s = t.sound();
    assert_eq!(s.rejected_frees, 2 * bad.len() as u32 + 1);
    assert_eq!(s.live_blocks, before.live_blocks - 1);
    assert!(t.bytes(b, 64).iter().all(|&x| x == 0x5A));
}

#[test]
fn a_copied_header_does_not_pass() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(8);
    let b = t.heap.allocate(64);
    // forge: copy a's header into b's payload and point at it
    let header = t.bytes(a - 8, 8).to_vec();
    t.bytes(b + 16, 8).copy_from_slice(&header);
    t.heap.deallocate(b + 24);
    assert_eq!(t.sound().rejected_frees, 1);
}

#[test]
fn out_of_memory_returns_zero_and_recovers() {
    let t = TestHeap::new(65536, 4 * 65536);
    let mut live = vec![];
    loop {
        let p = t.heap.allocate(5000);
        if p == 0 {
            break;
        }
        live.push(p);
    }
    let s = t.sound();
    assert_eq!(s.failures, 1);
    assert!(s.memory_grows >= 3);
    assert!(s.heap_bytes <= 4 * 65536);
    for p in live.drain(..).step_by(2) {
        t.heap.deallocate(p);
    }
    assert_ne!(t.heap.allocate(4000), 0, "freed memory serves again");
    t.sound();
}

#[test]
fn marks_release_exactly_what_came_after() {
    let t = TestHeap::with_limit(1 << 20);
    let old = t.heap.allocate(100);
    let old2 = t.heap.allocate(100);
    let m1 = t.heap.free_get_mark();
    assert_ne!(m1, 0);
    let x = t.heap.allocate(50);
    let moved = t.heap.reallocate(old, 5000); // moved after the mark
    assert_ne!(moved, old);
    let m2 = t.heap.free_get_mark();
    let y = t.heap.allocate(70);
    t.heap.deallocate(old2); // older segment: goes to its own lists
    let s = t.sound();
    assert_eq!((s.live_blocks, s.mark_depth), (3, 2));
    t.heap.free_to_mark(m2);
    assert_eq!(t.heap.size(y), 0);
    assert_eq!(t.heap.size(x), 50);
    t.heap.free_to_mark(m2); // used up
    assert_eq!(t.sound().rejected_marks, 1);
    t.heap.free_to_mark(m1);
    assert_eq!((t.heap.size(x), t.heap.size(moved)), (0, 0));
    let s = t.sound();
    assert_eq!((s.live_blocks, s.live_bytes, s.mark_depth), (0, 0, 0));
    assert_eq!(s.heap_top, t.empty_top(), "old blocks' memory merged back");
    for bogus in [0, 1, 0x100, m1, m1 + 1, u32::MAX] {
        t.heap.free_to_mark(bogus);
    }
    assert_eq!(t.sound().rejected_marks, 7);
}

#[test]
fn floor_and_free_all() {
    let t = TestHeap::with_limit(1 << 20);
    let keep = t.heap.allocate(10);
    t.heap.free_all_mark();
    t.heap.free_all_mark(); // empty floor: no new segment
    assert_eq!(t.sound().mark_depth, 1);
    for round in 0..if MIRI { 5 } else { 100 } {
        for i in 0..50 {
            assert_ne!(t.heap.allocate(i * 13 + round), 0);
        }
        t.heap.free_all();
        let s = t.sound();
        assert_eq!((s.live_blocks, s.memory_grows), (1, 0));
    }
    assert_eq!(t.heap.size(keep), 10);
    // a mark below the floor brings the floor down
    t.heap.free_all();
    let m = t.heap.free_get_mark();
    let a = t.heap.allocate(30);
    t.heap.free_all_mark();
    let b = t.heap.allocate(30);
    t.heap.free_to_mark(m);
    assert_eq!((t.heap.size(a), t.heap.size(b)), (0, 0));
    let c = t.heap.allocate(30);
    t.heap.free_all();
    assert_eq!(t.heap.size(c), 0);
    assert_eq!(t.heap.size(keep), 10);
    t.sound();
    // free_all with no floor releases everything
    let t = TestHeap::with_limit(1 << 20);
    t.heap.allocate(10);
    t.heap.free_get_mark();
    t.heap.allocate(10);
    t.heap.free_all();
    let s = t.sound();
    assert_eq!((s.live_blocks, s.mark_depth, s.heap_top), (0, 0, t.empty_top()));
}

#[test]
fn marks_nest_up_to_the_limit() {
    let t = TestHeap::with_limit(1 << 20);
    let marks: Vec<u32> = (0..crate::MAX_DEPTH).map(|_| t.heap.free_get_mark()).collect();
    assert!(marks.iter().all(|&m| m != 0));
    assert_eq!(t.heap.free_get_mark(), 0);
    assert_eq!(t.sound().failures, 1);
    t.heap.free_to_mark(marks[10]);
    assert_eq!(t.sound().mark_depth, 10);
    t.heap.free_to_mark(marks[20]); // stale: popped with marks[10]
    assert_eq!(t.sound().rejected_marks, 1);
}

/// xorshift32: deterministic, no dependency.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// Random operations against a model: contents, overlap, size and check after every step.
#[test]
fn random_operations_match_the_model() {
    for seed in 1..=if MIRI { 1 } else { 12u32 } {
        let t = TestHeap::new(65536, 4 << 20);
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9));
        // payload -> (request, fill byte, mark depth when allocated)
        let mut live: BTreeMap<u32, (u32, u8, usize)> = BTreeMap::new();
        let mut marks: Vec<u32> = vec![];
        for step in 0..if MIRI { 300 } else { 3000u32 } {
            let fill = (step % 251) as u8 + 1;
            match rng.below(20) {
                0..=7 => {
                    let size = match rng.below(4) {
                        0 => rng.below(16),
                        1 | 2 => rng.below(200),
                        _ => rng.below(20000),
                    };
                    let p = if rng.below(5) == 0 {
                        t.heap.allocate_aligned(size, 1 << rng.below(13))
                    } else {
                        t.heap.allocate(size)
                    };
                    if p != 0 {
                        t.bytes(p, size).fill(fill);
                        live.insert(p, (size, fill, marks.len()));
                    }
                }
                8..=12 => {
                    if let Some(&p) = live.keys().nth(rng.below(live.len() as u32 + 1) as usize) {
                        t.heap.deallocate(p);
                        live.remove(&p);
                    }
                }
                13..=15 => {
                    if let Some(&p) = live.keys().nth(rng.below(live.len() as u32 + 1) as usize) {
                        let size = rng.below(3000);
                        let q = t.heap.reallocate(p, size);
                        if q != 0 {
                            let (old, old_fill, depth) = live.remove(&p).unwrap();
                            assert!(t.bytes(q, old.min(size)).iter().all(|&x| x == old_fill));
                            t.bytes(q, size).fill(fill);
                            let depth = if q == p { depth } else { marks.len() };
                            live.insert(q, (size, fill, depth));
                        }
                    }
                }
                16 if marks.len() < 20 => {
                    let m = t.heap.free_get_mark();
                    if m != 0 {
                        marks.push(m);
                    }
                }
                17 if !marks.is_empty() => {
                    let k = rng.below(marks.len() as u32) as usize;
                    t.heap.free_to_mark(marks[k]);
                    marks.truncate(k);
                    live.retain(|_, &mut (_, _, depth)| depth <= k);
                }
                18 => t.heap.deallocate(rng.next() & !7), // almost always not a live block
                _ => {}
            }
            if MIRI && step % 20 != 19 {
                continue; // the checks below read every live byte: under Miri, now and then
            }
            let s = t.sound();
            assert_eq!(s.live_blocks as usize, live.len(), "seed {seed} step {step}");
            assert_eq!(s.live_bytes, live.values().map(|v| v.0).sum::<u32>());
            let mut end = 0;
            for (&p, &(size, fill, _)) in &live {
                assert!(p >= end, "overlap at {p:#x}");
                end = p + size;
                assert_eq!(t.heap.size(p), size);
                assert!(t.bytes(p, size).iter().all(|&x| x == fill), "seed {seed} step {step}");
            }
        }
    }
}

/// Regression (found by the fuzzer, host-tests/fuzz): the header of a block merged into a free
/// predecessor, or given back to the top, kept its used form and a matching tag, so a double free
/// (even after the memory was handed out again, unwritten) was accepted and corrupted the heap.
#[test]
fn freed_headers_do_not_stay_live() {
    // merged into a free predecessor
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(8);
    let b = t.heap.allocate(8);
    let _pin = t.heap.allocate(8);
    t.heap.deallocate(a);
    t.heap.deallocate(b);
    assert_eq!(t.heap.size(b), 0, "freed block still has a size");
    t.heap.deallocate(b); // double free
    let s = t.sound();
    assert_eq!((s.frees, s.rejected_frees, s.live_blocks), (2, 1, 1));

    // given back to the top, then the memory handed out again, unwritten
    let t = TestHeap::with_limit(1 << 20);
    let x = t.heap.allocate(8);
    let y = t.heap.allocate(8);
    t.heap.deallocate(y);
    t.heap.deallocate(x);
    let c = t.heap.allocate(24); // covers x and y; y's old header is inside c's payload
    assert_eq!(c, x);
    assert_eq!(t.heap.size(y), 0, "a pointer into the middle of c");
    t.heap.deallocate(y); // double free of y
    let s = t.sound();
    assert_eq!((s.frees, s.rejected_frees, s.live_blocks), (2, 1, 1));
    assert_eq!(t.heap.size(c), 24);
}

/// Regression (found by the fuzzer, host-tests/fuzz): the search size of an aligned request,
/// `size + align + MIN_BLOCK`, wrapped for a request near the old `MAX_REQUEST` with a large
/// alignment, found a small free block and carved a 4 GiB block out of it.
#[test]
fn huge_aligned_request_does_not_wrap_the_search() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(100);
    let _pin = t.heap.allocate(8);
    t.heap.deallocate(a); // a free block of 112 bytes on the lists
    for align in [16, 4096, crate::MAX_ALIGN] {
        assert_eq!(t.heap.allocate_aligned(crate::block::MAX_REQUEST, align), 0, "align {align}");
        assert_eq!(t.heap.allocate_aligned(crate::block::MAX_REQUEST - 8, align), 0, "align {align}");
    }
    let s = t.sound();
    assert_eq!((s.failures, s.live_blocks), (6, 1));
}

#[test]
fn a_perfect_fit_in_a_shared_class_is_found_when_memory_is_short() {
    let t = TestHeap::new(65536, 65536);
    let blocks: Vec<u32> = std::iter::from_fn(|| Some(t.heap.allocate(4096)).filter(|&p| p != 0)).collect();
    let victim = blocks[blocks.len() / 2];
    t.heap.deallocate(victim);
    // 4104-byte block: its class [4096, 4608) also holds smaller blocks, so good fit alone would skip it
    assert_eq!(t.heap.allocate(4096), victim);
    t.sound();
}

#[test]
fn a_request_takes_a_block_of_its_own_list_before_a_larger_one() {
    let t = TestHeap::with_limit(1 << 20);
    let near = t.heap.allocate(4056); // a 4064-byte block: list [3840, 4096)
    let _pin = t.heap.allocate(8);
    let large = t.heap.allocate(8184); // an 8192-byte block
    let _pin2 = t.heap.allocate(8);
    t.heap.deallocate(large);
    t.heap.deallocate(near);
    // 4008 bytes: good fit alone would take the 8192-byte block (every block of [4096, ...) fits)
    assert_eq!(t.heap.allocate(4000), near, "the closest block, from the request's own list");
    t.sound();
    assert_eq!(t.heap.allocate(8184), large, "the 8192-byte block is intact");
}

#[test]
fn record_sizes_are_as_documented() {
    // CONTRACT.md: a mark costs a 1232-byte control block; the root takes 1088 bytes.
    assert_eq!((CONTROL_SIZE, ROOT_SIZE), (1232, 1088));
}

/// Regression (found by the soak, host-tests/src/bin/soak): a block freed into a free predecessor
/// kept its tag; once user data put a plausible used header beside it, the freed pointer passed
/// `live()` again. A released block's tag is now spoiled.
#[test]
fn a_freed_blocks_tag_does_not_survive_new_data_beside_it() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(8);
    let x = t.heap.allocate(8);
    let _pin = t.heap.allocate(8);
    t.heap.deallocate(a);
    t.heap.deallocate(x); // merges backwards into a's block
    let c = t.heap.allocate(24);
    assert_eq!(c, a, "c covers x's old header and tag");
    t.bytes(x - 8, 4).copy_from_slice(&16u32.to_le_bytes()); // user data: a plausible used header
    assert_eq!(t.heap.size(x), 0);
    t.heap.deallocate(x);
    let s = t.sound();
    assert_eq!((s.rejected_frees, s.live_blocks), (1, 2));

    // the same when the block merges backwards and is given back to the top
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(8);
    let x = t.heap.allocate(8);
    t.heap.deallocate(a);
    t.heap.deallocate(x);
    let c = t.heap.allocate(24);
    assert_eq!(c, a);
    t.bytes(x - 8, 4).copy_from_slice(&16u32.to_le_bytes());
    assert_eq!(t.heap.size(x), 0);
}
