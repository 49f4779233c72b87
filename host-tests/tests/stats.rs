//! `stats(out_ptr)`: every field after known scenarios.

use host_tests::{Heap, PAGE, SCRATCH, Stats, block_of};

#[test]
fn a_fresh_heap() {
    let mut h = Heap::new();
    let raw = h.raw_stats();
    // Only the harness's scratch block is live.
    assert_eq!((raw.live_blocks, raw.live_bytes, raw.allocations), (1, SCRATCH, 1));
    let s = h.stats();
    let zero = Stats {
        heap_bytes: s.heap_bytes,
        free_bytes: s.free_bytes,
        largest_free: s.largest_free,
        memory_grows: s.memory_grows,
        heap_start: s.heap_start,
        heap_top: s.heap_top,
        peak_bytes: s.peak_bytes,
        ..Stats::default()
    };
    assert_eq!(s, zero, "a fresh heap has counters");
    // the most the heap spanned: to the top, where the scratch block ends
    h.assert_peak(0);
    if !host_tests::debug_flavor() {
        assert_eq!(s.peak_bytes, s.heap_top - s.heap_start);
    }
    let mem = h.mem_size();
    assert!(s.heap_start > 0 && s.heap_start % 8 == 0, "heap_start {:#x}", s.heap_start);
    // The heap runs to the end of memory, or of the static flavor's pool (inside memory).
    let end = h.heap_end();
    assert!(end <= mem);
    assert!(s.heap_start < s.heap_top && s.heap_top <= end);
    assert_eq!(s.heap_bytes, end - s.heap_start);
    assert!(s.free_bytes >= end - s.heap_top && s.largest_free >= end - s.heap_top);
    assert_eq!(s.memory_grows, h.limiter().granted);
    if h.is_pool() {
        assert_eq!(s.memory_grows, 0, "the static flavor grew memory");
    }
}

#[test]
fn counters_follow_a_scripted_scenario() {
    let mut h = Heap::new();
    let a = h.allocate(1000);
    let b = h.allocate(2000);
    let c = h.allocate_aligned(10, 4096);
    let d = h.reallocate(0, 30);
    h.deallocate(a); // live 2040, peak 3040
    let b2 = h.reallocate(b, 2500); // b is at ... maybe moved; live 2540
    let c2 = h.reallocate(c, 0); // live 2530
    h.deallocate(a); // rejected
    let _ = h.reallocate(a, 5); // rejected
    h.deallocate(0); // nothing
    assert_eq!(h.allocate(u32::MAX), 0); // failure
    assert_eq!(h.allocate_aligned(8, 3), 0); // failure
    h.free_to_mark(12345); // rejected mark
    let m = h.free_get_mark();
    let e = h.allocate(600); // live 3130, peak 3130
    let s = h.stats();
    assert!(b2 != 0 && c2 == c && d != 0 && m != 0 && e != 0);
    assert_eq!(s.live_blocks, 4);
    assert_eq!(s.live_bytes, 2500 + 30 + 600); // the 0-byte block's request adds nothing
    h.assert_peak(3130);
    assert_eq!(s.allocations, 5);
    assert_eq!(s.frees, 1);
    assert_eq!(s.reallocations, 2);
    assert_eq!(s.failures, 2);
    assert_eq!(s.rejected_frees, 2);
    assert_eq!(s.rejected_marks, 1);
    assert_eq!(s.mark_depth, 1);
    h.free_to_mark(m);
    let s = h.stats();
    assert_eq!((s.live_blocks, s.live_bytes, s.mark_depth), (3, 2530, 0));
    h.assert_peak(3130);
    assert_eq!((s.frees, s.rejected_marks), (1, 1));
    h.assert_sound();
}

#[test]
fn peak_is_the_highest_live_bytes_ever_or_the_high_water_of_the_top() {
    let mut h = Heap::new();
    let a = h.allocate(1000);
    let b = h.allocate(2000);
    h.deallocate(a);
    let c = h.allocate(500);
    h.assert_peak(3000);
    let c = h.reallocate(c, 1600); // live 3600
    h.assert_peak(3600);
    let high = h.raw_stats().heap_top;
    let c = h.reallocate(c, 10);
    h.deallocate(b);
    h.deallocate(c);
    let s = h.stats();
    assert_eq!(s.live_bytes, 0);
    h.assert_peak(3600);
    if !host_tests::debug_flavor() {
        // the top came down; its high-water mark stays: what a fixed pool would have needed
        assert!(s.heap_top < high);
        assert_eq!(s.peak_bytes, high - s.heap_start);
    }
}

#[test]
fn free_bytes_count_free_blocks_with_their_headers() {
    let mut h = Heap::new();
    let a = h.allocate(1000);
    let b = h.allocate(16);
    let s0 = h.stats();
    // Freeing a request adds its whole block: the request, 8 bytes of header, rounding (and 12
    // more bytes in the debug flavor).
    let free = |h: &mut Heap, p: u32, request: u32| {
        let before = h.stats().free_bytes;
        h.deallocate(p);
        let s = h.stats();
        assert_eq!(s.free_bytes, before + block_of(request), "freeing {request} bytes");
        s
    };
    let s1 = free(&mut h, a, 1000);
    assert!(s1.largest_free >= block_of(1000).min(s1.free_bytes));
    assert_eq!(s1.heap_top, s0.heap_top, "a is not the last block");
    let s2 = free(&mut h, b, 16);
    assert_eq!(s2.heap_top, s0.heap_top - block_of(1000) - block_of(16), "both went back to the top");
}

#[test]
fn memory_growth_is_counted_and_managed() {
    let mut h = Heap::new();
    let mem0 = h.mem_size();
    let grows0 = h.stats().memory_grows;
    let p = h.allocate(3 * PAGE);
    assert!(p != 0);
    let s = h.stats();
    if h.is_pool() {
        // The static flavor differs: the block came from its pool, memory did not grow.
        assert_eq!((h.mem_size(), s.memory_grows, h.limiter().granted), (mem0, 0, 0));
        assert!(p + 3 * PAGE <= s.heap_top && s.heap_top <= h.heap_end());
        h.deallocate(p);
        assert!(h.stats().largest_free >= h.heap_end() - h.stats().heap_top);
        return;
    }
    assert!(h.mem_size() >= mem0 + 2 * PAGE);
    assert!(s.memory_grows > grows0);
    assert_eq!(s.memory_grows, h.limiter().granted);
    assert_eq!(s.heap_bytes, h.mem_size() - s.heap_start);
    assert!(p + 3 * PAGE <= s.heap_top);
    // Memory never shrinks, but the top comes back and the space above it counts as free.
    h.deallocate(p);
    let s2 = h.stats();
    assert!(s2.heap_top < p);
    assert!(s2.largest_free >= h.mem_size() - s2.heap_top);
    assert!(s2.free_bytes >= 3 * PAGE);
}

#[test]
fn stats_can_be_written_into_any_live_block() {
    let mut h = Heap::new();
    let p = h.allocate(64);
    let here = h.stats_at(p);
    let there = h.raw_stats();
    assert_eq!(here, there);
    assert_eq!(here.live_blocks, 2);
}

/// The host's `Stats` mirrors `wasmheap::Stats` (src/core/stats.rs), which the module writes with
/// `stats(out_ptr)`: same fields, same order. A field added or moved on one side only fails here.
#[test]
fn the_host_mirror_matches_the_crates_layout() {
    let ours = wasmheap::Stats {
        live_blocks: 1,
        live_bytes: 2,
        peak_bytes: 3,
        heap_bytes: 4,
        free_bytes: 5,
        largest_free: 6,
        allocations: 7,
        frees: 8,
        reallocations: 9,
        failures: 10,
        rejected_frees: 11,
        rejected_marks: 12,
        mark_depth: 13,
        memory_grows: 14,
        heap_start: 15,
        heap_top: 16,
    };
    assert_eq!(size_of::<wasmheap::Stats>(), 16 * 4);
    // Safety: wasmheap::Stats is #[repr(C)] with sixteen u32 fields.
    let words: [u32; 16] = unsafe { std::mem::transmute(ours) };
    let mirror = Stats::from_words(words);
    assert_eq!(format!("{ours:?}"), format!("{mirror:?}"));
}
