//! Blocks: carving at the top, freeing onto the bins and the class lists, merging, giving the top
//! back; which free block a request takes.

use super::*;

#[test]
fn allocate_write_free_and_give_back_the_top() {
    let (t, [a, b, c]) = TestHeap::with_blocks([10, 100, 0]);
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
    let (t, blocks) = TestHeap::with_blocks([40; 5]);
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
    let (t, blocks) = TestHeap::with_blocks([40; 6]);
    t.heap.deallocate(blocks[1]);
    t.heap.deallocate(blocks[3]);
    let s = t.sound();
    assert_eq!((s.live_blocks, s.frees), (4, 2));
    assert_eq!(t.binned(), 2 * 48);
    assert_eq!((t.heap.size(blocks[1]), t.heap.size(blocks[3])), (0, 0));
    // a bin serves its own size only: a 96-byte block is cut at the top
    assert!(t.heap.allocate(88) > blocks[5]);
    // the same size comes back from its bin, newest first, and is live again
    assert_eq!(t.heap.allocate(33), blocks[3]);
    assert_eq!(t.heap.allocate(40), blocks[1]);
    assert_eq!(t.heap.size(blocks[3]), 33);
    assert_eq!(t.free_below_top(), 0);
}

#[test]
fn binned_blocks_merge_when_a_neighbour_is_freed() {
    let (t, blocks) = TestHeap::with_blocks([40; 5]);
    t.heap.deallocate(blocks[1]); // binned
    t.heap.deallocate(blocks[3]); // binned
    t.heap.deallocate(blocks[2]); // merges both: one 144-byte free block, binned again
    assert_eq!(t.binned_and_listed(), (144, 0));
    assert_eq!(t.heap.allocate(136), blocks[1]);
    t.sound();
    // a block grows in place into a binned successor
    let (a, b, _pin) = (t.heap.allocate(16), t.heap.allocate(16), t.heap.allocate(16));
    t.heap.deallocate(b);
    assert_eq!(t.binned(), 24);
    assert_eq!(t.heap.reallocate(a, 40), a);
    assert_eq!(t.binned(), 0);
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
    let (t, blocks) = TestHeap::with_blocks([16; 600]); // 24-byte blocks
    for &b in blocks.iter().step_by(2) {
        t.heap.deallocate(b);
    }
    // 300 freed blocks of 24 bytes, all binned (bins have no cap), none listed
    let s = t.sound();
    assert_eq!(t.binned_and_listed(), (300 * 24, 0));
    assert_eq!(s.live_blocks, 300);
}

#[test]
fn freeing_the_last_live_block_gives_the_segment_back() {
    let t = TestHeap::with_limit(1 << 20);
    let blocks: Vec<u32> = (0..50).map(|i| t.heap.allocate(8 + i * 37)).collect();
    for &b in blocks.iter().step_by(2) {
        t.heap.deallocate(b);
    }
    assert!(t.binned() > 0);
    for &b in blocks.iter().skip(1).step_by(2) {
        t.heap.deallocate(b);
    }
    let s = t.sound();
    assert_eq!((s.heap_top, s.live_blocks), (t.empty_top(), 0));
    assert_eq!(t.binned() + t.binned_and_listed().1, 0);
    for &b in &blocks {
        assert_eq!(t.heap.size(b), 0, "released pointers stay dead");
    }
    assert_eq!(t.heap.allocate(8), blocks[0]);
    t.sound();
}

#[test]
fn a_corrupted_bin_is_found() {
    let (t, [a, _pin, b, _pin2]) = TestHeap::with_blocks([24, 24, 24, 24]);
    t.heap.deallocate(a);
    t.heap.deallocate(b);
    assert_eq!(t.binned(), 64);
    t.sound();
    // b's bin link (the word after its header) pointed into the middle of a block
    t.bytes(b - 4, 4).copy_from_slice(&(a + 8).to_le_bytes());
    assert_eq!(t.heap.check(), crate::Broken::Bin as u32);
}

/// `Broken::BlockSize` (code 3) for each of its cases: a size below `MIN_BLOCK`, a size past the
/// end of the segment, a used block marked `BINNED`. The heap is sound again once the header is.
#[test]
fn a_block_size_that_cannot_be_is_found() {
    let (t, [a, _b, c]) = TestHeap::with_blocks([24, 24, 24]);
    let smashes: [fn(u32) -> u32; 3] = [|h| 8 | (h & 7), |h| h + 64, |h| h | 4];
    for (payload, smashed) in [a, c, a].into_iter().zip(smashes) {
        let header = u32::from_le_bytes(t.bytes(payload - 8, 4).try_into().unwrap());
        t.bytes(payload - 8, 4).copy_from_slice(&smashed(header).to_le_bytes());
        assert_eq!(t.heap.check(), crate::Broken::BlockSize as u32, "header {header:#x} -> {:#x}", smashed(header));
        t.bytes(payload - 8, 4).copy_from_slice(&header.to_le_bytes());
        t.sound();
    }
}

#[test]
fn a_free_block_grown_in_its_class_by_a_merge_moves_to_its_lists_head() {
    let (t, [a, b, _pin, x, _pin2]) = TestHeap::with_blocks([1792, 40, 8, 1792, 8]);
    t.heap.deallocate(a); // 1800 bytes, class [1792, 2048)
    t.heap.deallocate(x); // the same class: the list's head
    let free = t.free_below_top();
    t.heap.deallocate(b); // merges into a: 1848 bytes, the same class
    assert_eq!(t.free_below_top(), free + 48);
    // a is the head again, as an unlist and an insert would have left it: it serves first
    assert_eq!(t.heap.allocate(1792), a);
    assert_eq!(t.heap.allocate(1792), x);
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
fn a_small_request_with_empty_bins_splits_the_smallest_listed_block() {
    let t = TestHeap::with_limit(1 << 20);
    // Both blocks are above BIN_MAX, so they are listed and no bin holds anything.
    let (large, _pin, small, _pin2) =
        (t.heap.allocate(2000), t.heap.allocate(8), t.heap.allocate(800), t.heap.allocate(8));
    t.heap.deallocate(large);
    t.heap.deallocate(small);
    // SAFETY: the newest record's borrow ends in the assertion.
    assert!(!unsafe { t.heap.newest() }.has_binned());
    // The 808-byte block is the smallest listed one; its 680-byte rest goes back to a list.
    assert_eq!(t.heap.allocate(120), small);
    assert_eq!(t.free_below_top(), 2008 + 680);
    // SAFETY: the newest record's borrow ends in the assertion.
    assert!(!unsafe { t.heap.newest() }.has_binned());
    assert_eq!(t.heap.allocate(672), small + 128, "the rest, from its own list");
}

#[test]
fn a_small_request_cuts_a_listed_block_whose_rest_keeps_its_class() {
    let t = TestHeap::with_limit(1 << 20);
    // Two listed blocks of the class [4608, 5120): `a` (5008 bytes) freed first, so `b` (5072)
    // is the head of that list with `a` after it.
    let (a, _pin, b, _pin2) = (t.heap.allocate(5000), t.heap.allocate(8), t.heap.allocate(5064), t.heap.allocate(8));
    t.heap.deallocate(a);
    t.heap.deallocate(b);
    // SAFETY: the newest record's borrow ends in the assertion.
    assert!(!unsafe { t.heap.newest() }.has_binned());
    // 32 bytes come off the head's front; its 5040-byte rest keeps the class and takes the
    // head's place in front of `a` (check() follows the links both ways).
    assert_eq!(t.heap.allocate(24), b);
    assert_eq!(t.free_below_top(), 5008 + 5040);
    assert_eq!(t.heap.size(b), 24);
    assert_eq!(t.heap.allocate(100), b + 32, "the rest is the head: cut again");
    assert_eq!(t.free_below_top(), 5008 + 4928);
    // Down to the class's floor: a rest of 4608 keeps the class, one of 4600 would not.
    assert_eq!(t.heap.allocate(312), b + 144);
    assert_eq!(t.free_below_top(), 5008 + 4608);
    // The rest is still the head. Taking 480 bytes from it would leave 4128, of the class below:
    // the head is taken off and split, and its rest goes to the list of its own class.
    assert_eq!(t.heap.allocate(472), b + 464);
    assert_eq!(t.free_below_top(), 5008 + 4128);
    assert_eq!(t.heap.allocate(24), b + 944, "the rest is the smallest listed block, cut in its turn");
    assert_eq!(t.free_below_top(), 5008 + 4096);
    assert_eq!(t.heap.allocate(5000), a, "`a` stayed listed, whole");
}
