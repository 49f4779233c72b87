//! `check()`: 0 on a sound heap, a documented non-zero code when an invariant is broken.
//! These tests break the heap on purpose, so that `check() == 0` elsewhere means something.

use host_tests::Heap;

/// Overwrites `[at, at+len)` with `byte`, expects `check()` to report a code in 1..=12, and
/// restores the bytes, after which the heap must be sound again.
#[track_caller]
fn expect_broken(h: &mut Heap, at: u32, len: u32, byte: u8, what: &str) -> u32 {
    let saved = h.read(at, len).to_vec();
    h.fill(at, len, byte);
    let code = h.check();
    h.write(at, &saved);
    assert!((1..=12).contains(&code), "{what}: check() = {code}, expected a code in 1..=12");
    assert_eq!(h.check(), 0, "{what}: not sound again after restoring the bytes");
    code
}

fn heap_with_holes() -> (Heap, u32, u32, u32) {
    let mut h = Heap::new();
    let [a, hole, c, _d] = h.alloc_filled_each([(64, 1), (120, 2), (64, 3), (64, 4)]);
    h.deallocate(hole);
    h.assert_sound();
    (h, a, hole, c)
}

/// Smashing any of these ranges with any byte breaks the heap, which `check()` reports.
#[test]
fn smashed_headers_and_free_blocks_are_detected() {
    let (mut h, a, hole, c) = heap_with_holes();
    let ranges = [
        (a - 8, 8, "header of a"),
        (c - 8, 8, "header of c (after a free block)"),
        // The free block: header in front of the old payload, its links and footer inside.
        (hole - 8, 128, "the whole free block"),
        (hole - 8, 8, "header of the free block"),
    ];
    for byte in [0x00, 0xFF, 0x5A] {
        for (at, len, what) in ranges {
            expect_broken(&mut h, at, len, byte, what);
        }
    }
}

#[test]
fn a_size_that_runs_past_the_top_is_detected() {
    let (mut h, a, _, _) = heap_with_holes();
    let top = h.stats().heap_top;
    // A header claiming the block reaches beyond the top: the size field is the first word.
    let saved = h.read(a - 8, 4).to_vec();
    let flags = h.read_u32(a - 8) & 7;
    h.write_u32(a - 8, ((top - (a - 8)) + 64) | flags);
    let code = h.check();
    h.write(a - 8, &saved);
    assert!((1..=12).contains(&code), "check() = {code} for a block running past the top");
    h.assert_sound();
}

#[test]
fn user_data_never_disturbs_check() {
    let (mut h, a, _, c) = heap_with_holes();
    for byte in [0x00, 0xFF, 0x01] {
        h.fill(a, 64, byte);
        h.fill(c, 64, byte);
        h.assert_sound();
    }
}
