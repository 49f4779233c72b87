//! Out of memory: `memory.grow` refused through the store's `ResourceLimiter`.

use host_tests::{Heap, PAGE};

/// Allocates `size`-byte blocks until `allocate` returns 0 (growth is refused); returns them.
fn fill_up(h: &mut Heap, size: u32) -> Vec<u32> {
    h.fill_up(size, 1 << 20)
}

#[test]
fn allocation_fails_when_memory_cannot_grow_and_recovers() {
    let mut h = Heap::new();
    h.freeze_growth();
    let mem = h.mem_size();
    let blocks = fill_up(&mut h, 4096);
    let s = h.stats();
    assert_eq!(s.failures, 1);
    assert_eq!(s.live_blocks, blocks.len() as u32);
    assert_eq!(h.mem_size(), mem, "memory grew past the cap");
    if h.is_pool() {
        // The static flavor differs: its pool ran out without asking for memory.
        assert_eq!((h.limiter().refused, h.limiter().granted), (0, 0));
    } else {
        assert!(h.limiter().refused > 0, "the allocator never asked for memory");
    }
    h.assert_sound();
    assert_eq!(h.allocate_aligned(4096, 4096), 0);
    assert_eq!(h.stats().failures, 2);
    // Freeing one block makes room for smaller requests.
    let victim = blocks[blocks.len() / 2];
    h.deallocate(victim);
    let small = h.allocate(2000);
    assert!(small >= victim && small < victim + 4096, "the freed 4 KiB block was not reused");
    for (i, &p) in blocks.iter().enumerate() {
        if p != victim {
            h.assert_filled(p, 4096, i as u8);
        }
    }
    // Growth allowed again: allocations succeed and memory grows.
    h.unfreeze_growth();
    if h.is_pool() {
        // The static flavor differs: nothing grows; room comes back only from freed blocks.
        assert_eq!(h.allocate(4 * PAGE), 0, "the static flavor found room beyond its pool");
        for &p in &blocks[..blocks.len() / 2] {
            h.deallocate(p);
        }
        let big = h.allocate(4 * PAGE);
        assert!(big != 0, "no room after freeing half the pool");
        let s = h.sound_stats();
        assert_eq!((h.mem_size(), s.memory_grows, s.failures), (mem, 0, 3));
        return;
    }
    let big = h.allocate(4 * PAGE);
    assert!(big != 0);
    assert!(h.mem_size() > mem);
    let s = h.sound_stats();
    assert_eq!(s.memory_grows, h.limiter().granted);
    assert_eq!(s.failures, 2);
}

#[test]
fn a_cap_from_the_start() {
    let mut probe = Heap::new();
    let fresh_top = probe.stats().heap_top;
    let mut h = Heap::with_cap(probe.mem_size() as usize + 2 * PAGE as usize);
    let blocks = fill_up(&mut h, 1000);
    assert!(!blocks.is_empty());
    assert!(h.mem_size() <= probe.mem_size() + 2 * PAGE);
    h.assert_sound();
    for p in blocks {
        h.deallocate(p);
    }
    let s = h.stats();
    assert_eq!((s.live_blocks, s.failures), (0, 1));
    assert_eq!(s.heap_top, fresh_top, "the top did not come back after freeing all");
    h.assert_sound();
}

#[test]
fn marks_fail_cleanly_when_their_record_does_not_fit() {
    let mut h = Heap::new();
    h.freeze_growth();
    let mut blocks = Vec::new();
    for size in [4096, 256, 8] {
        blocks.extend(fill_up(&mut h, size));
    }
    let failures = h.stats().failures;
    let before = h.stats();
    assert_eq!(h.free_get_mark(), 0, "free_get_mark() with no memory left");
    let s = h.stats();
    assert_eq!(s.failures, failures + 1);
    assert_eq!((s.mark_depth, s.live_blocks, s.heap_top), (before.mark_depth, before.live_blocks, before.heap_top));
    h.assert_sound();
    h.free_all_mark();
    assert_eq!(h.stats().mark_depth, 0, "free_all_mark() cannot have a record either");
    h.assert_sound();
    h.unfreeze_growth();
    if h.is_pool() {
        // The static flavor differs: growth cannot make room for the record (a new segment
        // starts at the top); freeing the blocks at the top does.
        assert_eq!(h.free_get_mark(), 0, "the static flavor found room beyond its pool");
        let top = h.stats().heap_top;
        while h.stats().heap_top + 2048 > top {
            h.deallocate(blocks.pop().unwrap());
        }
    }
    let m = h.free_get_mark();
    assert!(m != 0);
    let p = h.allocate(100);
    h.free_to_mark(m);
    assert_eq!(h.size(p), 0);
    assert_eq!(h.stats().live_blocks, blocks.len() as u32);
    h.assert_sound();
}

#[test]
fn free_all_after_running_out_gives_everything_back() {
    let mut h = Heap::new();
    let top = h.stats().heap_top;
    h.freeze_growth();
    let blocks = fill_up(&mut h, 512);
    assert!(!blocks.is_empty());
    h.free_all();
    let s = h.stats();
    assert_eq!((s.live_blocks, s.heap_top), (0, top));
    assert_eq!(fill_up(&mut h, 512).len(), blocks.len(), "not the same room after free_all");
    h.assert_sound();
}

#[test]
fn a_hole_of_exactly_the_requested_size_is_used_when_memory_cannot_grow() {
    let mut h = Heap::new();
    h.freeze_growth();
    for size in [4096, 24, 1000, 100] {
        let blocks = fill_up(&mut h, size);
        assert!(blocks.len() >= 3);
        let victim = blocks[blocks.len() / 2];
        h.deallocate(victim);
        let p = h.allocate(size);
        assert_eq!(p, victim, "allocate({size}) with a free {size}-byte block and no growth");
        h.free_all();
    }
}
