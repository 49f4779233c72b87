//! `allocate(size)`: unique non-zero pointers, 8-byte alignment, huge sizes, reuse.

use host_tests::{Heap, SCRATCH, Stats};

#[test]
fn zero_size_allocations_are_unique_nonzero_and_live() {
    let mut h = Heap::new();
    let ptrs: Vec<u32> = (0..200).map(|_| h.allocate(0)).collect();
    let mut sorted = ptrs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ptrs.len(), "allocate(0) returned a pointer twice");
    assert!(!ptrs.contains(&0), "allocate(0) returned 0");
    assert!(!ptrs.contains(&h.scratch()));
    for &p in &ptrs {
        assert_eq!(p % 8, 0, "allocate(0) = {p:#x} is not 8-aligned");
        assert_eq!(h.size(p), 0);
    }
    let s = h.sound_stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.allocations), (200, 0, 200));
    let s = h.deallocate_each(&ptrs);
    assert_eq!((s.live_blocks, s.frees, s.rejected_frees), (0, 200, 0));
}

#[test]
fn huge_sizes_return_zero_and_never_wrap() {
    let mut h = Heap::new();
    let keep = h.alloc_filled(40, 0x5A);
    let sizes = [0xFFFF_FFFF, 0xFFFF_FFF8, 0xFFFF_FFF9, 0xFFFF_FFF1, 0x8000_0000, 0xFFFF_0000];
    for (i, &size) in sizes.iter().enumerate() {
        let before = h.stats();
        assert_eq!(h.allocate(size), 0, "allocate({size:#x})");
        let after = h.stats();
        assert_eq!(after.failures, before.failures + 1, "allocate({size:#x}) not counted");
        assert_eq!(after.live_blocks, before.live_blocks);
        assert_eq!(after.live_bytes, before.live_bytes);
        assert_eq!(after.allocations, before.allocations);
        assert_eq!(after.heap_top, before.heap_top, "allocate({size:#x}) moved the top");
        assert_eq!(after.failures, i as u32 + 1);
        h.assert_sound();
    }
    h.assert_filled(keep, 40, 0x5A);
    let p = h.alloc_filled(100, 1);
    assert_eq!(h.size(p), 100);
    h.assert_sound();
}

#[test]
fn sizes_that_cannot_fit_in_4_gib_fail_even_without_a_memory_cap() {
    let mut h = Heap::with_cap(usize::MAX);
    let heap_start = h.stats().heap_start;
    // Every size here needs more than 4 GiB minus heap_start (header included). With a small
    // heap_start, 0xFFFF_0000 can legitimately fit, so it is not in the list.
    let no_room = 0u32.wrapping_sub(heap_start); // 2^32 - heap_start
    for size in [u32::MAX, 0xFFFF_FFF8, 0xFFFF_FFF1, no_room] {
        let top = h.stats().heap_top;
        assert_eq!(h.allocate(size), 0, "allocate({size:#x}) with unlimited memory");
        assert_eq!(h.stats().heap_top, top);
        h.assert_sound();
    }
    assert_eq!(h.stats().failures, 4);
    assert!(h.allocate(24) != 0);
}

#[test]
fn results_are_8_aligned_disjoint_and_hold_their_contents() {
    let mut h = Heap::new();
    let mut blocks = Vec::new();
    for (i, size) in (1..=300u32).chain([1000, 4095, 4096, 4097, 65536, 100_000]).enumerate() {
        let p = h.allocate(size);
        assert!(p != 0, "allocate({size}) failed");
        assert_eq!(p % 8, 0, "allocate({size}) = {p:#x} is not 8-aligned");
        assert_eq!(h.size(p), size);
        h.fill(p, size, i as u8);
        blocks.push((p, size, i as u8));
    }
    let mut spans: Vec<(u32, u32)> = blocks.iter().map(|&(p, n, _)| (p, n)).collect();
    spans.push((h.scratch(), SCRATCH));
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0, "blocks {:x?} and {:x?} overlap", w[0], w[1]);
    }
    for &(p, size, b) in &blocks {
        h.assert_filled(p, size, b);
    }
    let s = h.sound_stats();
    assert_eq!(s.live_blocks, blocks.len() as u32);
    assert_eq!(s.live_bytes, blocks.iter().map(|b| b.1).sum::<u32>());
}

#[test]
fn freed_memory_is_reused_and_the_top_comes_back_down() {
    let mut h = Heap::new();
    let start = h.stats();
    let mem = h.mem_size();
    for round in 0..2000u32 {
        let size = 1 + round % 3000;
        let [a, b] = h.alloc_filled_each([(size, 1), (size / 2, 2)]);
        h.deallocate(a);
        h.deallocate(b);
    }
    let end = h.assert_top(start.heap_top, "after 2000 rounds");
    assert_eq!(h.mem_size(), mem, "memory grew though at most two small blocks were ever live");
    assert_eq!((end.live_blocks, end.allocations, end.frees), (0, 4000, 4000));
    h.assert_sound();
}

#[test]
fn a_freed_block_in_the_middle_serves_smaller_requests() {
    let mut h = Heap::new();
    let [a, b, c] = h.alloc_filled_each([(256, 1), (1024, 2), (256, 3)]);
    h.deallocate(b);
    let top = h.stats().heap_top;
    // Good fit rounds a request up to a size class, so a hole serves requests a class or more
    // below its own size without touching the top.
    let [d, e] = h.alloc_filled_each([(400, 4), (300, 5)]);
    for p in [d, e] {
        assert!(p >= b && p < c, "{p:#x} is not in the 1024-byte hole at {b:#x}");
    }
    assert_eq!(h.stats().heap_top, top);
    h.assert_filled_each(&[(a, 256, 1), (c, 256, 3), (d, 400, 4)]);
    h.assert_sound();
}

#[test]
fn statistics_follow_allocations() {
    let mut h = Heap::new();
    let sizes = [0u32, 1, 7, 8, 9, 100, 5000];
    let ptrs: Vec<u32> = sizes.iter().map(|&n| h.allocate(n)).collect();
    let total: u32 = sizes.iter().sum();
    let s = h.stats();
    let expect = Stats { live_blocks: 7, live_bytes: total, allocations: 7, ..s };
    assert_eq!(s, expect);
    h.assert_peak(total);
    assert_eq!((s.frees, s.failures, s.rejected_frees, s.reallocations), (0, 0, 0, 0));
    h.deallocate(ptrs[6]);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.frees), (6, total - 5000, 1));
    h.assert_peak(total);
}
