//! Bins (src/core/segment.rs): small free blocks whose neighbours are used wait on a list of
//! their exact size. A binned block is free: every call that takes a live block rejects it, a
//! neighbour freed later merges with it, marks treat it as their segment's, and `check()` walks
//! the bins.

use host_tests::{Counter, DEBUG_EXTRA, Heap, block_of, debug_flavor};

/// `n` blocks of `size` bytes with a used block between each two, so that freeing one bins it.
fn spaced(h: &mut Heap, n: usize, size: u32) -> Vec<u32> {
    (0..n)
        .map(|i| {
            let p = h.alloc_filled(size, i as u8);
            h.alloc_filled(8, 0xEE); // the spacer stays live
            p
        })
        .collect()
}

#[test]
fn a_binned_block_is_rejected_exactly_and_changes_nothing() {
    let mut h = Heap::new();
    let blocks = spaced(&mut h, 3, 40);
    h.deallocate(blocks[1]);
    assert_eq!(h.size(blocks[1]), 0);
    h.assert_rejected("double free of a binned block", Counter::RejectedFrees, |h| h.deallocate(blocks[1]));
    h.assert_rejected("reallocate of a binned block", Counter::RejectedFrees, |h| {
        assert_eq!(h.reallocate(blocks[1], 8), 0)
    });
    h.assert_rejected("an interior pointer of a binned block", Counter::RejectedFrees, |h| {
        h.deallocate(blocks[1] + 16)
    });
    // the same size comes back from the bin, and the neighbours were not touched
    assert_eq!(h.allocate(40), blocks[1]);
    h.assert_filled_each(&[(blocks[0], 40, 0), (blocks[2], 40, 2)]);
    h.assert_sound();
}

#[test]
fn a_binned_block_counts_as_free_and_merges_with_a_freed_neighbour() {
    let mut h = Heap::new();
    let [a, b, c, _pin] = h.alloc_filled_each([(100, 1), (100, 2), (100, 3), (8, 4)]);
    let free_before = h.stats().free_bytes;
    h.deallocate(a);
    h.deallocate(c);
    assert_eq!(h.stats().free_bytes, free_before + 2 * block_of(100), "binned bytes are free bytes");
    h.deallocate(b); // merges a, b and c into one 336-byte block
    assert_eq!(h.allocate(320), a, "a 328-byte request fits only in the merged block");
    h.assert_sound();
}

#[test]
fn a_larger_binned_block_is_split_for_a_small_request() {
    let mut h = Heap::new();
    // (The debug flavor's blocks hold DEBUG_EXTRA bytes more: the requests leave them out.)
    let extra = if debug_flavor() { DEBUG_EXTRA } else { 0 };
    let big = spaced(&mut h, 1, 496 - extra)[0]; // a 504-byte block, the largest size binned
    assert_eq!(block_of(496 - extra), 504);
    h.deallocate(big);
    let small = h.allocate(16 - extra); // no 24-byte bin: the 504-byte bin is the smallest that fits
    assert_eq!(small, big);
    let rest = h.allocate(472 - extra); // the 480-byte tail went back to a bin
    assert_eq!(rest, big + 24);
    h.assert_sound();
}

#[test]
fn bins_belong_to_their_segment_across_marks() {
    let mut h = Heap::new();
    let old = spaced(&mut h, 2, 24);
    let m = h.free_get_mark();
    assert_ne!(m, 0);
    let new = spaced(&mut h, 2, 24);
    // freed into their own segments' bins
    h.deallocate(old[0]);
    h.deallocate(new[0]);
    // the newest segment's bin serves the newest segment
    assert_eq!(h.allocate(24), new[0]);
    h.deallocate(new[0]);
    h.free_to_mark(m); // drops the newest segment with its bin
    assert_eq!(h.size(new[0]), 0);
    assert_eq!(h.size(new[1]), 0);
    h.assert_sound();
    // the older segment is the newest again: its bin serves allocations
    assert_eq!(h.allocate(24), old[0]);
    h.assert_filled(old[1], 24, 1);
    h.assert_sound();
}

#[test]
fn bins_have_no_cap_and_serve_their_blocks_newest_first() {
    let mut h = Heap::new();
    let start_top = h.stats().heap_top;
    let blocks = spaced(&mut h, 400, 16); // 24-byte blocks (40 in the debug flavor) between spacers
    let carved = h.stats().heap_top - start_top;
    for &p in &blocks {
        h.deallocate(p);
    }
    h.assert_sound();
    // No cap: all 400 blocks wait on their bin (LIFO), and come back newest first, with nothing
    // more cut at the top.
    let again: Vec<u32> = (0..blocks.len()).map(|_| h.allocate(16)).collect();
    let newest_first: Vec<u32> = blocks.iter().rev().copied().collect();
    assert_eq!(again, newest_first, "every block from its bin, newest first");
    assert_eq!(h.stats().heap_top - start_top, carved, "nothing more was cut at the top");
    h.assert_sound();
}

#[test]
fn check_finds_a_broken_bin() {
    let mut h = Heap::new();
    let blocks = spaced(&mut h, 3, 24);
    h.deallocate(blocks[0]);
    h.deallocate(blocks[2]);
    h.assert_sound();
    // the bin's link (the word after the binned block's header) pointed into another block
    h.write_u32(blocks[2] - 4, blocks[1] + 8);
    assert_eq!(h.check(), 13, "check() names the broken bin");
}
