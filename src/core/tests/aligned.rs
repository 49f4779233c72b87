//! Alignment: `allocate_aligned` for every power of two, and C's 16-aligned blocks (`allocate16`,
//! `reallocate16`) alone and among 8-aligned ones.

use super::*;

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
fn c_blocks_step_as_dlmalloc_does_and_fill_the_heap() {
    // malloc(16 k) in a loop: a block of 16 k + 16 bytes (dlmalloc: the same), every payload
    // 16-aligned, no gap between them
    for k in 1..=8u32 {
        let t = TestHeap::with_limit(4 << 20);
        let n = 16 * k;
        let blocks: Vec<u32> = (0..2000).map(|_| t.heap.allocate16(n)).collect();
        for pair in blocks.windows(2) {
            assert_eq!(pair[0] % 16, 0);
            assert_eq!(pair[1] - pair[0], n + 16, "malloc({n}) steps");
        }
        let s = t.sound();
        let used = s.heap_top - t.empty_top();
        assert_eq!(used as u64, 2000 * (n as u64 + 16), "no gap anywhere");
        // freed C blocks are reused as they are: same places, same sizes, nothing new at the top
        for &b in blocks.iter().step_by(2) {
            t.heap.deallocate(b);
        }
        let top = t.sound().heap_top;
        let mut again: Vec<u32> = blocks.iter().step_by(2).map(|_| t.heap.allocate16(n)).collect();
        again.sort();
        assert_eq!(again, blocks.iter().step_by(2).copied().collect::<Vec<_>>());
        assert_eq!(t.sound().heap_top, top);
    }
}

#[test]
fn c_realloc_keeps_sixteen_alignment_in_place_and_moved() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate16(32);
    let b = t.heap.allocate16(32);
    assert_eq!((a % 16, b - a), (0, 48));
    t.bytes(a, 32).fill(7);
    // grows into nothing (b follows): moves to the top, 16-aligned
    let a2 = t.heap.reallocate16(a, 100);
    assert!(a2 > b && a2 % 16 == 0);
    assert!(t.bytes(a2, 32).iter().all(|&x| x == 7));
    // grows at the top and shrinks in place
    assert_eq!(t.heap.reallocate16(a2, 1000), a2);
    assert_eq!(t.heap.reallocate16(a2, 40), a2);
    assert_eq!(t.heap.size(a2), 40);
    // an 8-aligned block moves to a 16-aligned one
    let _ = t.heap.allocate(16); // 24 bytes: the next payload is 8 off
    let c = t.heap.allocate(16);
    assert_eq!(c % 16, 8);
    let c2 = t.heap.reallocate16(c, 24);
    assert!(c2 != c && c2 % 16 == 0);
    t.sound();
}

#[test]
fn c_blocks_after_eight_aligned_ones_take_a_gap_or_another_block() {
    let t = TestHeap::with_limit(1 << 20);
    // a 24-byte block shifts the top by 8: a 48-byte block after it has its payload 8 off
    let x = t.heap.allocate(16);
    let y = t.heap.allocate(40);
    let guard = t.heap.allocate(600); // from the top, after y
    assert_eq!((y % 16, guard - y), (8, 48));
    // the top is shifted too: the next C block is cut with a gap in front
    let a = t.heap.allocate16(32);
    assert!(a % 16 == 0 && a > guard);
    // a shifted bin block is left on its bin, not taken
    t.heap.deallocate(y);
    // SAFETY: the newest record's borrow ends in the assertion.
    assert_eq!(unsafe { t.heap.newest() }.bin_head(48), y - 8);
    let b = t.heap.allocate16(32); // a 48-byte C block: not y, whose payload is 8 off
    assert!(b % 16 == 0 && b != y);
    // SAFETY: the newest record's borrow ends in the assertion.
    assert_eq!(unsafe { t.heap.newest() }.bin_head(48), y - 8, "the shifted block stays on its bin");
    for p in [x, a, b, guard] {
        t.heap.deallocate(p);
    }
    let s = t.sound();
    assert_eq!((s.live_blocks, s.heap_top), (0, t.empty_top()));
}
