//! `allocate_aligned(size, align)`: every power of two up to 65536, bad aligns.

use host_tests::{Counter, Heap};

const SIZES: [u32; 5] = [0, 1, 24, 100, 3000];

#[test]
fn every_power_of_two_up_to_65536() {
    let mut h = Heap::new();
    let top_at_start = h.stats().heap_top;
    let mut blocks = Vec::new();
    for k in 0..=16 {
        let align = 1u32 << k;
        for &size in &SIZES {
            let p = h.allocate_aligned(size, align);
            assert!(p != 0, "allocate_aligned({size}, {align}) failed");
            assert_eq!(p % align, 0, "allocate_aligned({size}, {align}) = {p:#x}");
            assert_eq!(p % 8, 0, "allocate_aligned({size}, {align}) = {p:#x} not 8-aligned");
            assert_eq!(h.size(p), size, "size of allocate_aligned({size}, {align})");
            let byte = (blocks.len() % 251) as u8;
            h.fill(p, size, byte);
            blocks.push((p, size, byte));
        }
        h.assert_sound();
    }
    for &(p, size, byte) in &blocks {
        h.assert_filled(p, size, byte);
    }
    let s = h.stats();
    assert_eq!(s.live_blocks, blocks.len() as u32);
    assert_eq!(s.allocations, blocks.len() as u32);
    assert_eq!(s.failures, 0);
    assert_eq!(s.live_bytes, blocks.iter().map(|b| b.1).sum::<u32>());
    // Free in an order that makes the aligned gaps coalesce with everything around them.
    for (i, &(p, _, _)) in blocks.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        h.deallocate(p);
        assert_eq!(h.size(p), 0, "block {i} still live after deallocate");
    }
    h.assert_sound();
    for &(p, _, _) in blocks.iter().skip(1).step_by(2) {
        h.deallocate(p);
    }
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.rejected_frees), (0, 0, 0));
    assert_eq!(s.heap_top, top_at_start, "the top did not come back down after freeing all");
    h.assert_sound();
}

#[test]
fn large_alignments_after_an_odd_top() {
    let mut h = Heap::new();
    for align in [4096, 32768, 65536] {
        for odd in [1u32, 17, 100, 4000] {
            let filler = h.alloc_filled(odd, 0xEE);
            let p = h.allocate_aligned(64, align);
            assert!(p != 0 && p % align == 0, "allocate_aligned(64, {align}) = {p:#x}");
            h.fill(p, 64, 0x11);
            h.assert_filled(filler, odd, 0xEE);
            h.assert_sound();
            h.deallocate(filler);
            h.assert_sound();
        }
    }
}

#[test]
fn bad_alignments_return_zero_and_count_as_failures() {
    let mut h = Heap::new();
    let keep = h.alloc_filled(32, 0x77);
    for align in [0u32, 3, 6, 12, 24, 65537, 131072, 0x8000_0000, 0xFFFF_FFFF] {
        // Nothing may change but `failures`, which goes up by one.
        let what = format!("allocate_aligned(16, {align:#x})");
        let p = h.assert_rejected(&what, Counter::Failures, |h| h.allocate_aligned(16, align));
        assert_eq!(p, 0, "{what}");
    }
    assert_eq!(h.stats().failures, 9);
    h.assert_filled(keep, 32, 0x77);
}

#[test]
fn huge_aligned_requests_fail_cleanly() {
    let mut h = Heap::new();
    for size in [u32::MAX, 0xFFFF_FFF8, 0xFFFF_0000, 0x8000_0000, 0xFFFF_0000 - 65536] {
        for align in [8, 4096, 65536] {
            assert_eq!(h.allocate_aligned(size, align), 0, "allocate_aligned({size:#x}, {align})");
            h.assert_sound();
        }
    }
    assert_eq!(h.stats().failures, 15);
    assert_eq!(h.stats().live_blocks, 0);
}

#[test]
fn aligned_blocks_shrink_in_place_and_keep_their_alignment() {
    let mut h = Heap::new();
    let p = h.allocate_aligned(1000, 4096);
    assert!(p != 0 && p % 4096 == 0);
    h.fill(p, 1000, 0x42);
    let _after = h.alloc_filled(8, 1); // so that p is not at the top
    let q = h.reallocate(p, 100);
    assert_eq!(q, p, "shrinking an aligned block moved it");
    assert_eq!(h.size(p), 100);
    h.assert_filled(p, 100, 0x42);
    h.assert_sound();
}
