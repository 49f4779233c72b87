//! Marks: segments, epochs and their check bits, the floor and `free_all`, the nesting limit.

use super::*;

#[test]
fn a_dropped_depth_names_segment_0_and_check_finds_a_stale_slot() {
    let t = TestHeap::with_limit(1 << 20);
    let (m1, m2) = (t.heap.free_get_mark(), t.heap.free_get_mark());
    // SAFETY: each of the three borrows of the root below is the only one while it is used; none
    // is used across a call of the heap.
    let control = unsafe { t.heap.root() }.segments[2];
    t.heap.free_to_mark(m2);
    t.heap.free_to_mark(m1);
    // SAFETY: as above.
    let segments = &unsafe { t.heap.root() }.segments;
    assert_eq!((segments[1], segments[2], segments[3]), (segments[0], segments[0], 0));
    t.sound();
    // SAFETY: as above.
    unsafe { t.heap.root() }.segments[2] = control;
    assert_eq!(t.heap.check(), crate::Broken::Segment as u32);
}

#[test]
fn two_epochs_never_give_the_same_check_bits_at_one_place() {
    // and a spoiled tag (check bits inverted) never matches at its place in any of those epochs
    for (block, size) in [(4096, 16), (0x10_0000, 248), (0xFFFF_0000, 1 << 20), (0x2968, 24)] {
        let check = |epoch| {
            crate::core::block::tag(
                block,
                crate::core::block::epoch_key(epoch),
                crate::core::block::tag_base(0),
                size,
                size - 8,
            ) >> 13
        };
        let mut seen = std::collections::HashSet::new();
        let epochs = if MIRI { 1u32 << 8 } else { 1u32 << 16 };
        for epoch in 0..epochs {
            assert!(seen.insert(check(epoch)), "{block:#x} {epoch}");
        }
        for epoch in 0..epochs {
            let spoiled = crate::core::block::spoiled(check(epoch) << 13) >> 13;
            assert!(!seen.contains(&spoiled), "spoiled tag of epoch {epoch} at {block:#x} matches another");
        }
    }
}

#[test]
fn marks_release_exactly_what_came_after() {
    let (t, [old, old2]) = TestHeap::with_blocks([100, 100]);
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
