//! Bad input: pointers that are not live (double, foreign, interior, copied headers), sizes that
//! cannot fit, memory that runs out; and the fuzzer's and the soak's regressions about them.

use super::*;

#[test]
fn binned_blocks_are_rejected_exactly() {
    let (t, [a, _pin]) = TestHeap::with_blocks([24, 24]);
    t.heap.deallocate(a);
    assert_eq!(t.binned(), 32);
    assert_eq!(t.heap.size(a), 0);
    assert_eq!(t.heap.reallocate(a, 10), 0);
    t.heap.deallocate(a); // double free of a binned block
    let s = t.sound();
    assert_eq!((s.rejected_frees, s.frees, s.live_blocks), (2, 1, 1));
    assert_eq!(t.free_below_top(), 32, "the binned block counts as free");
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
fn bad_pointers_are_rejected_and_counted() {
    let (t, [a, b]) = TestHeap::with_blocks([64, 64]);
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
    let (t, [a, b]) = TestHeap::with_blocks([8, 64]);
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

/// Regression (found by the fuzzer, host-tests/fuzz): the header of a block merged into a free
/// predecessor, or given back to the top, kept its used form and a matching tag, so a double free
/// (even after the memory was handed out again, unwritten) was accepted and corrupted the heap.
#[test]
fn freed_headers_do_not_stay_live() {
    // merged into a free predecessor
    let (t, [a, b, _pin]) = TestHeap::with_blocks([8, 8, 8]);
    t.heap.deallocate(a);
    t.heap.deallocate(b);
    assert_eq!(t.heap.size(b), 0, "freed block still has a size");
    t.heap.deallocate(b); // double free
    let s = t.sound();
    assert_eq!((s.frees, s.rejected_frees, s.live_blocks), (2, 1, 1));

    // given back to the top, then the memory handed out again, unwritten
    let (t, [x, y]) = TestHeap::with_blocks([8, 8]);
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
    let (t, [a, _pin]) = TestHeap::with_blocks([100, 8]);
    t.heap.deallocate(a); // a free block of 112 bytes on the lists
    for align in [16, 4096, crate::MAX_ALIGN] {
        assert_eq!(t.heap.allocate_aligned(crate::core::block::MAX_REQUEST, align), 0, "align {align}");
        assert_eq!(t.heap.allocate_aligned(crate::core::block::MAX_REQUEST - 8, align), 0, "align {align}");
    }
    let s = t.sound();
    assert_eq!((s.failures, s.live_blocks), (6, 1));
}

/// Regression (found by the soak, host-tests/src/bin/soak): a block freed into a free predecessor
/// kept its tag; once user data put a plausible used header beside it, the freed pointer passed
/// `live()` again. A released block's tag is now spoiled.
#[test]
fn a_freed_blocks_tag_does_not_survive_new_data_beside_it() {
    let (t, [a, x, _pin]) = TestHeap::with_blocks([8, 8, 8]);
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
    let (t, [a, x]) = TestHeap::with_blocks([8, 8]);
    t.heap.deallocate(a);
    t.heap.deallocate(x);
    let c = t.heap.allocate(24);
    assert_eq!(c, a);
    t.bytes(x - 8, 4).copy_from_slice(&16u32.to_le_bytes());
    assert_eq!(t.heap.size(x), 0);
}
