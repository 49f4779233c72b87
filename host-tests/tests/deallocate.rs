//! `deallocate(ptr)`: frees, gives the top back, and rejects everything that is not a live block
//! without changing anything but `rejected_frees`.

use host_tests::{Counter, Heap};

/// Live blocks (ptr, size, fill byte) and a freed block between two of them.
struct Fixture {
    h: Heap,
    live: Vec<(u32, u32, u8)>,
    freed: u32,
}

fn fixture() -> Fixture {
    let mut h = Heap::new();
    let [a, freed, b, c] = h.alloc_filled_each([(64, 0xA1), (48, 0xD4), (128, 0xB2), (32, 0xC3)]);
    h.deallocate(freed);
    h.assert_sound();
    Fixture { h, live: vec![(a, 64, 0xA1), (b, 128, 0xB2), (c, 32, 0xC3)], freed }
}

impl Fixture {
    /// `deallocate(p)` and `reallocate(p, 16)` must both be rejected, leaving everything intact.
    #[track_caller]
    fn reject(&mut self, p: u32, what: &str) {
        for &(q, _, _) in &self.live {
            assert_ne!(p, q, "{what}: test bug, {p:#x} is live");
        }
        self.h.assert_rejected(&format!("deallocate({p:#x}) [{what}]"), Counter::RejectedFrees, |h| h.deallocate(p));
        let r = self.h.assert_rejected(&format!("reallocate({p:#x}, 16) [{what}]"), Counter::RejectedFrees, |h| {
            h.reallocate(p, 16)
        });
        assert_eq!(r, 0, "reallocate({p:#x}, 16) [{what}] returned non-zero");
        assert_eq!(self.h.size(p), 0, "size({p:#x}) [{what}]");
        self.intact();
    }

    #[track_caller]
    fn intact(&mut self) {
        for &(p, n, b) in &self.live {
            assert_eq!(self.h.size(p), n);
            self.h.assert_filled(p, n, b);
        }
    }

    fn a(&self) -> u32 {
        self.live[0].0
    }
}

#[test]
fn freeing_everything_brings_the_top_back() {
    let mut h = Heap::new();
    let top = h.stats().heap_top;
    let ptrs: Vec<u32> = (1..=50).map(|i| h.alloc_filled(i * 13, i as u8)).collect();
    // Free from the middle outwards, so that blocks coalesce on both sides.
    let mut order: Vec<usize> = (0..50).collect();
    order.sort_by_key(|&i| (i as i32 - 25).abs());
    for (k, &i) in order.iter().enumerate() {
        h.deallocate(ptrs[i]);
        assert_eq!(h.size(ptrs[i]), 0);
        if k % 10 == 0 {
            h.assert_sound();
        }
    }
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.frees, s.rejected_frees), (0, 0, 50, 0));
    assert_eq!(s.heap_top, top);
    h.assert_sound();
}

#[test]
fn null_is_a_no_op() {
    let mut f = fixture();
    f.h.assert_rejected("deallocate(0)", Counter::None, |h| h.deallocate(0));
    f.intact();
}

#[test]
fn double_free_is_rejected() {
    let mut f = fixture();
    let freed = f.freed;
    f.reject(freed, "double free");
    let a = f.a();
    f.h.deallocate(a);
    f.live.remove(0);
    f.reject(a, "double free of a block merged with a free neighbour");
}

#[test]
fn pointers_below_the_heap_are_rejected() {
    let mut f = fixture();
    let start = f.h.stats().heap_start;
    for p in [8, 16, start - 8, start, start + 8, start + 16] {
        if f.live.iter().any(|l| l.0 == p) || p == f.h.scratch() {
            continue;
        }
        f.reject(p, "below or at the heap's records");
    }
}

#[test]
fn pointers_beyond_the_top_or_memory_are_rejected() {
    let mut f = fixture();
    let top = f.h.stats().heap_top;
    let end = f.h.mem_size();
    for p in [top, top + 8, top + 64, end - 8, end, end + 8, 0x8000_0000, 0xFFFF_FFF0, 0xFFFF_FFF8] {
        f.reject(p, "at or beyond the top");
    }
}

#[test]
fn interior_pointers_are_rejected() {
    let mut f = fixture();
    let a = f.a();
    for off in [8, 16, 24, 56] {
        f.reject(a + off, "interior");
    }
}

#[test]
fn interior_pointer_behind_a_copied_header_is_rejected() {
    let mut f = fixture();
    let a = f.a();
    // Make the payload at a+8 look like a block: copy a's own header in front of it.
    let header = f.h.read(a - 8, 8).to_vec();
    f.h.write(a, &header);
    f.live[0].2 = 0; // a's contents are no longer uniform: check them by hand below
    let contents = f.h.read(a, 64).to_vec();
    f.live.remove(0);
    f.reject(a + 8, "interior pointer behind a copy of a real header");
    assert_eq!(f.h.read(a, 64), &contents[..]);
    assert_eq!(f.h.size(a), 64);
}

#[test]
fn misaligned_pointers_are_rejected() {
    let mut f = fixture();
    for &(p, _, _) in &f.live.clone() {
        for k in 1..8 {
            f.reject(p + k, "misaligned");
        }
    }
}

#[test]
fn pointers_released_by_free_to_mark_or_free_all_are_rejected() {
    let mut f = fixture();
    let m = f.h.free_get_mark();
    assert!(m != 0);
    let x = f.h.alloc_filled(40, 0x99);
    let y = f.h.alloc_filled(0, 0);
    f.h.free_to_mark(m);
    f.reject(x, "released by free_to_mark");
    f.reject(y, "zero-size block released by free_to_mark");

    f.h.free_all_mark();
    let z = f.h.alloc_filled(24, 0x98);
    f.h.free_all();
    f.reject(z, "released by free_all");
}

/// A released block's header and its segment's record outlive the release when nobody writes
/// over them: here a block of the segment below covers both, its payload untouched, so the old
/// pointer lies below the top again. It must still be rejected, and again once a new mark takes
/// the released depth.
#[test]
fn pointers_released_by_free_to_mark_are_rejected_when_the_top_covers_them_again() {
    let mut f = fixture();
    let m = f.h.free_get_mark();
    assert!(m != 0);
    let x = f.h.alloc_filled(40, 0x99);
    f.h.free_to_mark(m);
    let cover = f.h.allocate(8192);
    assert!(cover != 0 && cover <= x - 8 && x + 40 <= cover + 8192, "the new block must hold x's header and payload");
    f.reject(x, "released by free_to_mark, under a block of the segment below");

    let m2 = f.h.free_get_mark();
    assert_eq!(m2 & 0xFF, m & 0xFF, "the new mark takes the released depth");
    let y = f.h.alloc_filled(40, 0x77);
    f.live.push((y, 40, 0x77));
    f.reject(x, "released by free_to_mark, its depth taken by a new mark");
}

#[test]
fn a_moved_blocks_old_pointer_is_rejected() {
    let mut f = fixture();
    let a = f.a();
    let q = f.h.reallocate(a, 4000);
    assert!(q != 0 && q != a, "reallocate(a, 4000) with a live successor should move");
    f.h.assert_filled(q, 64, 0xA1);
    f.h.fill(q, 4000, 0xA1);
    f.live[0] = (q, 4000, 0xA1);
    f.reject(a, "old pointer of a moved block");
}
