//! `size(ptr)`: the size last requested for a live block, 0 for anything else.

use host_tests::Heap;

#[test]
fn size_is_the_requested_size_not_the_capacity() {
    let mut h = Heap::new();
    for n in (0..=70).chain([100, 1023, 1024, 1025, 65535, 65536, 65537, 200_001]) {
        let p = h.allocate(n);
        assert_eq!(h.size(p), n, "size(allocate({n}))");
        let q = h.allocate_aligned(n, 256);
        assert_eq!(h.size(q), n, "size(allocate_aligned({n}, 256))");
    }
}

#[test]
fn size_follows_reallocate() {
    let mut h = Heap::new();
    let mut p = h.allocate(10);
    for n in [11, 9, 0, 1, 300, 299, 5000, 4, 100_000, 3] {
        p = h.reallocate(p, n);
        assert!(p != 0);
        assert_eq!(h.size(p), n, "size after reallocate to {n}");
    }
}

#[test]
fn size_is_zero_for_anything_not_live() {
    let mut h = Heap::new();
    let [a, b] = h.alloc_filled_each([(64, 1), (64, 2)]);
    let s = h.stats();
    h.deallocate(b);
    let m = h.free_get_mark();
    let c = h.allocate(32);
    h.free_to_mark(m);
    let not_live = [
        0,
        8,
        s.heap_start,
        s.heap_start - 8,
        a + 1,
        a + 4,
        a + 8,
        a + 16,
        b,
        c,
        s.heap_top,
        h.mem_size(),
        h.mem_size() + 8,
        0xFFFF_FFF8,
        u32::MAX,
    ];
    for p in not_live {
        assert_eq!(h.size(p), 0, "size({p:#x})");
    }
    assert_eq!(h.size(a), 64);
    // size() is a pure query: no counter moves.
    let after = h.stats();
    assert_eq!((after.rejected_frees, after.failures), (0, 0));
}
