//! `reallocate(ptr, size)`: in place when it can, moving with the contents otherwise, and on
//! failure the old block untouched.

use host_tests::{Heap, pattern};

/// Allocates a block of `size` bytes filled with `pattern(id)`.
fn block(h: &mut Heap, size: u32, id: u64) -> u32 {
    let p = h.allocate(size);
    assert!(p != 0, "allocate({size}) failed");
    h.write(p, &pattern(id, size));
    p
}

/// `block` for each (size, id), in order.
fn blocks<const N: usize>(h: &mut Heap, specs: [(u32, u64); N]) -> [u32; N] {
    specs.map(|(size, id)| block(h, size, id))
}

#[track_caller]
fn assert_prefix(h: &Heap, p: u32, id: u64, len: u32) {
    assert!(h.read(p, len) == &pattern(id, len)[..], "block {p:#x}: first {len} bytes changed");
}

#[test]
fn shrinking_stays_in_place() {
    let mut h = Heap::new();
    let p = block(&mut h, 500, 1);
    let guard = block(&mut h, 16, 2); // p is not at the top
    for size in [499, 400, 200, 64, 17, 16, 9, 8, 1, 0] {
        assert_eq!(h.reallocate(p, size), p, "shrinking to {size} moved the block");
        assert_eq!(h.size(p), size);
        assert_prefix(&h, p, 1, size);
        h.assert_sound();
    }
    assert_prefix(&h, guard, 2, 16);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.reallocations, s.allocations), (2, 16, 10, 2));
    h.assert_peak(516);
    // The space given up is reusable without growing the top.
    let top = s.heap_top;
    let q = block(&mut h, 400, 3);
    assert!(q > p && q < guard, "the 400 bytes freed by shrinking were not reused ({q:#x})");
    assert_eq!(h.stats().heap_top, top);
    h.assert_sound();
}

#[test]
fn growing_into_a_free_successor_stays_in_place() {
    let mut h = Heap::new();
    let [a, b, c] = blocks(&mut h, [(64, 1), (200, 2), (32, 3)]);
    h.deallocate(b);
    let top = h.stats().heap_top;
    assert_eq!(h.reallocate(a, 120), a, "growing into a free successor moved");
    assert_prefix(&h, a, 1, 64);
    assert_eq!(h.size(a), 120);
    h.assert_sound();
    // Exactly all of a and b (b's header included).
    let all = 64 + 8 + 200;
    assert_eq!(h.reallocate(a, all), a, "growing to swallow the whole free successor moved");
    assert_eq!(h.size(a), all);
    assert_prefix(&h, a, 1, 64);
    assert_prefix(&h, c, 3, 32);
    assert_eq!(h.stats().heap_top, top);
    h.assert_sound();
}

#[test]
fn growing_at_the_top_stays_in_place() {
    let mut h = Heap::new();
    let [_below, p] = blocks(&mut h, [(100, 1), (100, 2)]);
    let grows = h.stats().memory_grows;
    for size in [101, 1000, 70_000, 300_000] {
        assert_eq!(h.reallocate(p, size), p, "growing the top block to {size} moved it");
        assert_eq!(h.size(p), size);
        assert_prefix(&h, p, 2, 100);
        h.fill(p + 100, size - 100, 0xCC);
        h.assert_sound();
    }
    let s = h.stats();
    assert!(s.heap_top >= p + 300_000);
    if h.is_pool() {
        // The static flavor differs: the pool had the room, memory did not grow.
        assert_eq!((s.memory_grows, h.limiter().granted), (0, 0));
        return;
    }
    assert!(s.memory_grows > grows, "growing to 300 KB needed more memory");
    assert_eq!(s.memory_grows, h.limiter().granted, "memory_grows vs. granted memory.grow calls");
}

#[test]
fn growing_a_boxed_in_block_moves_it_with_its_contents() {
    let mut h = Heap::new();
    let [a, b] = blocks(&mut h, [(64, 1), (64, 2)]);
    let before = h.stats();
    let q = h.reallocate(a, 1000);
    assert!(q != 0 && q != a, "reallocate(a, 1000) with a live successor: {q:#x}");
    assert_eq!(q % 8, 0);
    assert_prefix(&h, q, 1, 64);
    assert_eq!(h.size(q), 1000);
    assert_eq!(h.size(a), 0, "the old pointer is still live after the move");
    assert_prefix(&h, b, 2, 64);
    let s = h.sound_stats();
    assert_eq!(s.live_blocks, before.live_blocks);
    assert_eq!(s.live_bytes, before.live_bytes - 64 + 1000);
    assert_eq!(s.reallocations, before.reallocations + 1);
    assert_eq!((s.allocations, s.frees), (before.allocations, before.frees));
    // The old place is free: a block of the same size lands there.
    assert_eq!(h.allocate(64), a);
}

#[test]
fn many_small_growth_steps_keep_the_contents() {
    let mut h = Heap::new();
    let mut p = h.allocate(0);
    let mut other = Vec::new();
    let mut size = 0u32;
    while size < 20_000 {
        let new = size + 1 + size / 7;
        let q = h.reallocate(p, new);
        assert!(q != 0, "reallocate({p:#x}, {new}) failed");
        assert_prefix(&h, q, 7, size);
        h.write(q, &pattern(7, new));
        p = q;
        size = new;
        // Interleave other allocations so that some steps move and some stay.
        other.push(block(&mut h, size % 200, size as u64));
    }
    assert_eq!(h.size(p), size);
    for (i, &o) in other.iter().enumerate() {
        assert!(h.size(o) < 200, "block {i} lost");
    }
    h.assert_sound();
}

#[test]
fn null_pointer_allocates() {
    let mut h = Heap::new();
    let p = h.reallocate(0, 100);
    assert!(p != 0 && p % 8 == 0);
    assert_eq!(h.size(p), 100);
    let z = h.reallocate(0, 0);
    assert!(z != 0 && z != p);
    let s = h.stats();
    assert_eq!((s.allocations, s.reallocations, s.live_blocks, s.live_bytes), (2, 0, 2, 100));
    assert_eq!(h.reallocate(0, u32::MAX), 0);
    assert_eq!(h.stats().failures, 1);
    h.assert_sound();
}

#[test]
fn size_zero_keeps_an_empty_live_block() {
    let mut h = Heap::new();
    let p = block(&mut h, 300, 1);
    let q = h.reallocate(p, 0);
    assert_eq!(q, p);
    assert_eq!(h.size(p), 0);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes), (1, 0));
    // Still live: it can grow again and be freed exactly once.
    let r = h.reallocate(p, 50);
    assert_eq!(h.size(r), 50);
    let s = h.deallocate_each(&[r, r]);
    assert_eq!((s.live_blocks, s.frees, s.rejected_frees), (0, 1, 1));
}

#[test]
fn failure_leaves_the_old_block_untouched() {
    let mut h = Heap::new();
    let a = block(&mut h, 1000, 1);
    let _b = block(&mut h, 16, 2); // a cannot grow at the top
    h.freeze_growth();
    let before = h.stats();
    let big = h.mem_size(); // can never fit without growing
    assert_eq!(h.reallocate(a, big), 0, "reallocate beyond memory with growth refused");
    assert_eq!(h.size(a), 1000);
    assert_prefix(&h, a, 1, 1000);
    let s = h.stats();
    assert_eq!(s.failures, before.failures + 1);
    assert_eq!(
        (s.live_blocks, s.live_bytes, s.reallocations),
        (before.live_blocks, before.live_bytes, before.reallocations)
    );
    if h.is_pool() {
        // The static flavor differs: it never asks for memory, and no growth can make room.
        assert_eq!((h.limiter().refused, h.limiter().granted), (0, 0));
        h.unfreeze_growth();
        assert_eq!(h.reallocate(a, big), 0, "the static flavor found room beyond its pool");
        assert_prefix(&h, a, 1, 1000);
        h.assert_sound();
        return;
    }
    assert!(h.limiter().refused > 0, "the limiter was never asked");
    h.assert_sound();
    // Too large for any memory: fails the same way, even with growth allowed.
    h.unfreeze_growth();
    for size in [u32::MAX, 0xFFFF_FFF8, 0xFFFF_0000] {
        assert_eq!(h.reallocate(a, size), 0);
        assert_prefix(&h, a, 1, 1000);
        assert_eq!(h.size(a), 1000);
    }
    // Once memory may grow, the same request succeeds and keeps the contents.
    let q = h.reallocate(a, big);
    assert!(q != 0);
    assert_prefix(&h, q, 1, 1000);
    assert_eq!(h.size(q), big);
    h.assert_sound();
}

#[test]
fn failure_at_the_top_leaves_the_block_untouched() {
    let mut h = Heap::new();
    let a = block(&mut h, 1000, 1); // at the top
    h.freeze_growth();
    let top = h.stats().heap_top;
    let too_big = h.mem_size() - a + 1;
    assert_eq!(h.reallocate(a, too_big), 0);
    assert_eq!(h.size(a), 1000);
    assert_prefix(&h, a, 1, 1000);
    assert_eq!(h.stats().heap_top, top, "a failed in-place growth moved the top");
    h.assert_sound();
}
