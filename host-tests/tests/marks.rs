//! Marks: `free_get_mark`, `free_to_mark`, `free_all_mark`, `free_all` (src/CONTRACT.md, "Marks").

use host_tests::{Counter, Heap, Rng};

/// A fresh heap with a block of `size` bytes (filled with 1), a mark, and a block of `size`
/// bytes above it (filled with 2).
fn below_and_above_a_mark(size: u32) -> (Heap, [u32; 2], u32) {
    let mut h = Heap::new();
    let below = h.alloc_filled(size, 1);
    let m = mark(&mut h);
    let above = h.alloc_filled(size, 2);
    (h, [below, above], m)
}

/// What is left after a release: live blocks, live bytes, mark depth and the top.
#[track_caller]
fn assert_left(h: &mut Heap, expected: (u32, u32, u32, u32)) {
    let s = h.stats();
    let left = (s.live_blocks, s.live_bytes, s.mark_depth, s.heap_top);
    assert_eq!(left, expected, "(live blocks, live bytes, mark depth, top)");
}

fn mark(h: &mut Heap) -> u32 {
    let m = h.free_get_mark();
    assert!(m != 0, "free_get_mark() failed");
    m
}

#[track_caller]
fn assert_dead(h: &mut Heap, ptrs: &[u32]) {
    for &p in ptrs {
        assert_eq!(h.size(p), 0, "{p:#x} should have been released");
    }
}

#[test]
fn nested_marks_release_exactly_what_came_after_them() {
    let mut h = Heap::new();
    let a = h.alloc_filled(100, 0xA);
    let top0 = h.stats().heap_top;
    let m1 = mark(&mut h);
    let b = h.alloc_filled(200, 0xB);
    let top1 = h.stats().heap_top;
    let m2 = mark(&mut h);
    assert_ne!(m1, m2);
    assert_eq!(h.stats().mark_depth, 2);
    let [c, c0] = h.alloc_filled_each([(300, 0xC), (0, 0)]);

    h.free_to_mark(m2);
    assert_dead(&mut h, &[c, c0]);
    h.assert_filled(b, 200, 0xB);
    assert_left(&mut h, (2, 300, 1, top1));
    h.assert_sound();

    h.free_to_mark(m1);
    assert_dead(&mut h, &[b]);
    h.assert_filled(a, 100, 0xA);
    assert_left(&mut h, (1, 100, 0, top0));
    let s = h.stats();
    assert_eq!((s.frees, s.rejected_marks), (0, 0), "free_to_mark is not deallocate");
    h.assert_sound();
}

#[test]
fn an_outer_mark_releases_the_inner_ones_too() {
    let mut h = Heap::new();
    let m1 = mark(&mut h);
    let b = h.alloc_filled(64, 1);
    let m2 = mark(&mut h);
    let m3 = mark(&mut h);
    let c = h.alloc_filled(64, 2);
    h.free_to_mark(m1);
    assert_dead(&mut h, &[b, c]);
    assert_eq!(h.stats().mark_depth, 0);
    for m in [m2, m3, m1] {
        h.assert_rejected(&format!("used-up mark {m:#x}"), Counter::RejectedMarks, |h| h.free_to_mark(m));
    }
}

#[test]
fn blocks_from_before_a_mark_survive_and_stay_freeable() {
    let mut h = Heap::new();
    let [old1, old2, old3] = h.alloc_filled_each([(1000, 1), (500, 2), (40, 3)]);
    let top_before = h.stats().heap_top;
    let m = mark(&mut h);
    // Freed while the mark is in force: goes back to its own (frozen) segment.
    h.deallocate(old1);
    let fresh = h.alloc_filled(1000, 4);
    assert!(fresh >= top_before, "an allocation after the mark came from below it ({fresh:#x})");
    // Shrinking an old block keeps it in place, in its segment.
    assert_eq!(h.reallocate(old2, 100), old2);
    h.assert_sound();
    h.free_to_mark(m);
    assert_dead(&mut h, &[fresh]);
    assert_eq!(h.size(old2), 100);
    h.assert_filled_each(&[(old2, 100, 2), (old3, 40, 3)]);
    let s = h.sound_stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.frees), (2, 140, 1));
    // The old segment is the newest again: its free space serves allocations, no new top.
    let top = s.heap_top;
    let again = h.alloc_filled(500, 5);
    assert!(again < old2, "old1's 1000 bytes were not reused ({again:#x})");
    assert_eq!(h.stats().heap_top, top);
    // And old blocks can be freed after the mark is gone.
    let s = h.deallocate_each(&[old2, old3, again]);
    assert_eq!((s.live_blocks, s.rejected_frees), (0, 0));
}

#[test]
fn an_old_block_moved_by_reallocate_after_a_mark_is_released_by_it() {
    let mut h = Heap::new();
    let a = h.alloc_filled(64, 1);
    let b = h.alloc_filled(64, 2); // boxes a in
    let top_before = h.stats().heap_top;
    let m = mark(&mut h);
    let q = h.reallocate(a, 5000);
    assert!(q != 0 && q != a);
    assert!(q >= top_before, "a block moved after the mark landed below it ({q:#x})");
    h.assert_filled(q, 64, 1);
    h.free_to_mark(m);
    assert_dead(&mut h, &[a, q]);
    h.assert_filled(b, 64, 2);
    let s = h.sound_stats();
    assert_eq!((s.live_blocks, s.live_bytes), (1, 64));
}

#[test]
fn an_old_block_grown_in_place_survives_the_mark() {
    let mut h = Heap::new();
    let [a, b, c] = h.alloc_filled_each([(64, 1), (200, 2), (64, 3)]);
    h.deallocate(b);
    let m = mark(&mut h);
    assert_eq!(h.reallocate(a, 200), a, "growing into the free successor in its own segment");
    h.free_to_mark(m);
    assert_eq!(h.size(a), 200);
    h.assert_filled_each(&[(a, 64, 1), (c, 64, 3)]);
    h.assert_sound();
}

#[test]
fn memory_released_by_marks_is_reused_over_many_cycles() {
    let mut h = Heap::new();
    let keep = h.alloc_filled(128, 0x42);
    let base = h.stats();
    let mut rng = Rng::seeded(7);
    let mut mem_after_first = 0;
    for cycle in 0..500 {
        let m = mark(&mut h);
        for _ in 0..40 {
            let n = rng.below32(3000);
            let p = h.allocate(n);
            assert!(p != 0);
            if rng.below32(3) == 0 {
                h.deallocate(p);
            }
        }
        let inner = mark(&mut h);
        let _ = h.allocate(100_000);
        h.free_to_mark(inner);
        h.free_to_mark(m);
        let s = h.assert_top(base.heap_top, &format!("cycle {cycle}"));
        assert_eq!((s.live_blocks, s.live_bytes, s.mark_depth), (1, 128, 0));
        if cycle == 0 {
            mem_after_first = h.mem_size();
        }
        assert_eq!(h.mem_size(), mem_after_first, "cycle {cycle}: memory keeps growing");
    }
    h.assert_filled(keep, 128, 0x42);
    h.assert_sound();
}

#[test]
fn free_all_at_first_releases_every_block() {
    let mut h = Heap::new();
    let top = h.stats().heap_top;
    let ptrs: Vec<u32> = (0..100).map(|i| h.alloc_filled(i * 37, 1)).collect();
    let m = mark(&mut h);
    let more: Vec<u32> = (0..10).map(|i| h.alloc_filled(i * 5, 2)).collect();
    h.free_all();
    assert_dead(&mut h, &ptrs);
    assert_dead(&mut h, &more);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.mark_depth), (0, 0, 0));
    assert_eq!(s.heap_top, top, "free_all did not bring the top back to the start");
    assert_eq!(s.frees, 0, "free_all is not deallocate");
    h.assert_rejected("mark used up by free_all", Counter::RejectedMarks, |h| h.free_to_mark(m));
    assert!(h.allocate(10) != 0);
}

#[test]
fn free_all_mark_sets_a_floor() {
    let mut h = Heap::new();
    let [a, b] = h.alloc_filled_each([(100, 1), (0, 0)]);
    h.free_all_mark();
    assert_eq!(h.stats().mark_depth, 1);
    let floor_top = h.stats().heap_top;
    let c = h.alloc_filled(300, 3);
    let m = mark(&mut h);
    let d = h.alloc_filled(50, 4);
    h.free_all();
    assert_dead(&mut h, &[c, d]);
    h.assert_filled(a, 100, 1);
    // a and the empty block b survive.
    assert_left(&mut h, (2, 100, 1, floor_top));
    h.assert_rejected("mark above the floor after free_all", Counter::RejectedMarks, |h| h.free_to_mark(m));
    // The floor stays: again and again.
    for round in 0..5 {
        let e = h.alloc_filled(1000 * round, 5);
        h.free_all();
        assert_dead(&mut h, &[e]);
        assert_eq!(h.stats().heap_top, floor_top);
        assert_eq!(h.stats().mark_depth, 1);
    }
    // Blocks below the floor can still be freed.
    let s = h.deallocate_each(&[a, b]);
    assert_eq!((s.live_blocks, s.frees, s.rejected_frees), (0, 2, 0));
}

#[test]
fn free_all_mark_on_an_empty_floor_does_nothing() {
    let mut h = Heap::new();
    h.alloc_filled(10, 1);
    h.free_all_mark();
    let s = h.stats();
    h.free_all_mark();
    assert_eq!(h.stats(), s, "free_all_mark() on an empty floor changed something");
    // A floor whose blocks were all freed again is empty too.
    let p = h.alloc_filled(10, 2);
    h.deallocate(p);
    h.free_all_mark();
    assert_eq!(h.stats().mark_depth, 1);
    // A non-empty floor gets a new floor on top.
    let q = h.alloc_filled(10, 3);
    h.free_all_mark();
    assert_eq!(h.stats().mark_depth, 2);
    h.free_all();
    assert_eq!(h.size(q), 10, "q was below the newest floor");
    h.assert_sound();
}

#[test]
fn free_to_mark_below_the_floor_brings_the_floor_down() {
    let (mut h, [a, b], m) = below_and_above_a_mark(100);
    h.free_all_mark();
    let c = h.alloc_filled(100, 3);
    h.free_to_mark(m);
    assert_dead(&mut h, &[b, c]);
    h.assert_filled(a, 100, 1);
    h.assert_sound();
    // The survivors are protected from free_all; what comes after is not.
    let d = h.alloc_filled(100, 4);
    h.free_all();
    assert_dead(&mut h, &[d]);
    h.assert_filled(a, 100, 1);
    assert_eq!(h.stats().live_blocks, 1);
    h.assert_sound();
}

#[test]
fn marks_nest_255_deep_and_no_deeper() {
    let mut h = Heap::new();
    let top = h.stats().heap_top;
    let mut marks = Vec::new();
    loop {
        let m = h.free_get_mark();
        if m == 0 {
            break;
        }
        marks.push(m);
        h.alloc_filled(8, marks.len() as u8);
        assert!(marks.len() <= 255, "more than 255 nested marks");
    }
    assert_eq!(marks.len(), 255);
    let s = h.stats();
    assert_eq!((s.mark_depth, s.failures, s.live_blocks), (255, 1, 255));
    let mut sorted = marks.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 255, "a mark token was handed out twice");
    h.assert_sound();
    h.free_to_mark(marks[128]);
    assert_eq!(h.stats().mark_depth, 128);
    assert!(h.free_get_mark() != 0, "a mark after coming back from depth 255");
    h.free_to_mark(marks[0]);
    let s = h.sound_stats();
    assert_eq!((s.mark_depth, s.live_blocks, s.heap_top), (0, 0, top));
}

#[test]
fn stale_and_bogus_marks_change_nothing() {
    let (mut h, [a, b], m1) = below_and_above_a_mark(64);
    let m2 = mark(&mut h);
    h.free_to_mark(m2);
    // The same depth again: a new token; the old one is stale.
    let m2b = mark(&mut h);
    assert_ne!(m2, m2b, "a mark at a reused depth got the old token");
    let c = h.alloc_filled(64, 3);
    let rej = |h: &mut Heap, m: u32, what: &str| {
        h.assert_rejected(&format!("free_to_mark({m:#x}) [{what}]"), Counter::RejectedMarks, |h| h.free_to_mark(m))
    };
    rej(&mut h, 0, "zero");
    rej(&mut h, m2, "used twice");
    // Tokens that point at real depths with wrong ids, and random values.
    let live = [m1, m2b];
    let mut rng = Rng::seeded(99);
    let mut tried = 0;
    while tried < 300 {
        let m = match tried % 3 {
            0 => rng.u32(),
            1 => (rng.u32() & !0xFF) | (1 + rng.below32(2)), // depth 1 or 2
            _ => m1 ^ (1 << (8 + rng.below32(24))),          // one bit off a live token
        };
        if live.contains(&m) {
            continue;
        }
        tried += 1;
        rej(&mut h, m, "bogus");
    }
    h.assert_filled_each(&[(a, 64, 1), (b, 64, 2), (c, 64, 3)]);
    // A mark taken after one that was freed to.
    h.free_to_mark(m1);
    rej(&mut h, m2b, "taken after a mark that was freed to");
    rej(&mut h, m1, "freed to already");
    assert_eq!(h.stats().rejected_marks, 2 + 300 + 2);
    h.assert_filled(a, 64, 1);
}
