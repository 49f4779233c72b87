//! Where the heap lives: a region of zeros set up on first use, records apart from the blocks,
//! and the walk of `stats()`.

use super::*;

#[test]
fn a_zero_region_sets_itself_up_on_the_first_allocation() {
    let limit = 1 << 20;
    let mut buffer = vec![0u64; limit as usize / 8];
    // Safety: `buffer` covers `limit` bytes, 8-aligned, used by this heap alone, and outlives it.
    let mem = unsafe { Mem::new(buffer.as_mut_ptr() as *mut u8) };
    // Safety: as above; `START` is 8-aligned, non-zero and below `limit`.
    let heap = unsafe { Heap::new(mem, START, Pool { limit }) };
    // before: every pointer is rejected, and nothing but that counter is written
    assert!(!heap.is_initialized());
    for p in [8, START + ROOT_SIZE + CONTROL_SIZE + 8, 65536] {
        assert_eq!(heap.size(p), 0);
        heap.deallocate(p);
        assert_eq!(heap.reallocate(p, 8), 0);
    }
    assert!(!heap.is_initialized());
    let a = heap.allocate(10);
    assert_eq!(a, START + ROOT_SIZE + CONTROL_SIZE + 8);
    let s = heap.stats();
    assert_eq!((s.live_blocks, s.allocations, s.rejected_frees, s.heap_top), (1, 1, 6, a + 16));
    assert_eq!(heap.verify(), Ok(()));
    // an aligned request sets it up too
    buffer.fill(0);
    assert_ne!(heap.allocate_aligned(100, 4096), 0);
    assert_eq!(heap.verify(), Ok(()));
}

/// A host buffer whose heap keeps its records apart from its blocks, as a Rust program's heap
/// does (`WasmMemory::blocks_base`).
#[derive(Clone, Copy)]
struct Apart {
    pool: Pool,
    base: u32,
}

// Safety: as `Pool`'s; the test's buffer covers everything up to `limit`.
unsafe impl crate::Source for Apart {
    fn grow(&self, end: u32, min_end: u32) -> Option<u32> {
        self.pool.grow(end, min_end)
    }

    fn blocks_base(&self, _records: u32) -> u32 {
        self.base
    }
}

#[test]
fn records_apart_from_the_blocks() {
    // The records in the program's statics, the blocks from a base far above: at the very end of
    // memory (64 KiB until it grows), 8 bytes and 1 KiB below it, mid-page.
    let limit = 1 << 20;
    let mut buffer = vec![0u64; limit as usize / 8];
    for base in [65536, 65536 - 8, 65536 - 1024, 40000] {
        buffer.fill(0);
        // Safety: `buffer` covers `limit` bytes, 8-aligned, used by this heap alone, and outlives it.
        let mem = unsafe { Mem::new(buffer.as_mut_ptr() as *mut u8) };
        let source = Apart { pool: Pool { limit }, base };
        // Safety: as above; the records (at 64) lie below `base`.
        let heap = unsafe { Heap::new(mem, 64, source) };
        assert!(!heap.is_initialized());
        assert_eq!(heap.size(base + 8), 0);
        let a = heap.allocate(10);
        assert_eq!(a, (base | 8) + 8, "the first block at base, its payload 16-aligned");
        let b = heap.allocate16(100);
        let m = heap.free_get_mark();
        let c = heap.allocate(5000);
        assert!(b % 16 == 0 && c > b && m != 0);
        heap.free_to_mark(m);
        heap.deallocate(a);
        heap.deallocate(b);
        assert_eq!(heap.verify(), Ok(()));
        let s = heap.stats();
        assert_eq!((s.live_blocks, s.heap_start, s.heap_top), (0, 64, base | 8));
        assert_eq!(s.heap_bytes - (base - 64), s.free_bytes + (s.heap_top - base));
        assert!(buffer[..8].iter().all(|&w| w == 0), "nothing below the records");
    }
}

#[test]
fn stats_walk_the_blocks_and_the_peak_is_the_tops_high_water() {
    let (t, [a, b, c]) = TestHeap::with_blocks([100, 1000, 30]);
    t.heap.deallocate(a); // binned
    // SAFETY: the root's borrow ends with this statement.
    let high = unsafe { t.heap.root() }.top;
    let s = t.sound();
    assert_eq!((s.live_blocks, s.live_bytes, s.allocations, s.frees), (2, 1030, 3, 1));
    assert_eq!(s.free_bytes, 112 + (s.heap_bytes + START - s.heap_top));
    assert_eq!(s.peak_bytes, high - START);
    t.heap.deallocate(c);
    t.heap.deallocate(b); // the top comes down to the start; its high-water mark stays
    let s = t.sound();
    assert_eq!((s.live_blocks, s.live_bytes, s.heap_top), (0, 0, t.empty_top()));
    assert_eq!(s.peak_bytes, high - START);
    // a mark's blocks dropped are neither live nor freed
    let m = t.heap.free_get_mark();
    let _ = t.heap.allocate(5000);
    t.heap.free_to_mark(m);
    let s = t.sound();
    assert_eq!((s.live_blocks, s.allocations, s.frees), (0, 4, 3));
    assert!(s.peak_bytes >= 5000 + 1344);
}
