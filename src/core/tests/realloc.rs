//! Reallocation in place and by moving, and a failed one.

use super::*;

#[test]
fn reallocate_in_place_and_moving() {
    let t = TestHeap::with_limit(1 << 20);
    let a = t.heap.allocate(16);
    t.bytes(a, 16).copy_from_slice(b"0123456789abcdef");
    // at the top: grows in place
    let a2 = t.heap.reallocate(a, 1000);
    assert_eq!(a2, a);
    assert_eq!(t.heap.size(a), 1000);
    // shrinks in place, the tail goes back
    assert_eq!(t.heap.reallocate(a, 8), a);
    assert_eq!(&t.bytes(a, 8)[..], b"01234567");
    let b = t.heap.allocate(64);
    let c = t.heap.allocate(64);
    t.heap.deallocate(b);
    // next block free: grows into it
    assert_eq!(t.heap.reallocate(a, 60), a);
    t.sound();
    // next block used: moves, keeps the contents
    let moved = t.heap.reallocate(a, 500);
    assert!(moved != a && moved != 0);
    assert_eq!(&t.bytes(moved, 8)[..], b"01234567");
    assert_eq!(t.heap.size(moved), 500);
    assert_eq!(t.heap.size(a), 0);
    let fresh = t.heap.reallocate(0, 5);
    assert!(fresh != 0 && t.heap.size(fresh) == 5, "realloc(0, n) allocates");
    t.heap.deallocate(c);
    let s = t.sound();
    assert_eq!(s.reallocations, 4);
}

#[test]
fn reallocate_failure_leaves_the_block_alone() {
    let t = TestHeap::new(65536, 65536);
    let a = t.heap.allocate(100);
    t.bytes(a, 100).fill(7);
    let _pin = t.heap.allocate(8);
    assert_eq!(t.heap.reallocate(a, 200_000), 0);
    assert_eq!(t.heap.size(a), 100);
    assert!(t.bytes(a, 100).iter().all(|&x| x == 7));
    assert_eq!(t.sound().failures, 1);
}
