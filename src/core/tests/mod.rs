//! Native unit tests of the core: a heap in a host buffer, checked after every step. This file
//! holds the harness (`TestHeap`); the tests are by concept: `blocks.rs` (bins, lists, merges, the
//! top), `realloc.rs`, `aligned.rs` (alignment, C's 16-aligned blocks), `marks.rs`, `bad_input.rs`
//! (and the fuzzer's and the soak's regressions), `regions.rs` (where the heap lives, `stats()`),
//! `model.rs` (random operations against the shadow model).

use std::vec;
use std::vec::Vec;

use wasmheap_model::{Block, Check, Model, Rng, ensure};

use crate::{CONTROL_SIZE, Heap, Mem, Pool, ROOT_SIZE, Stats};

mod aligned;
mod bad_input;
mod blocks;
mod discard;
mod marks;
mod model;
mod realloc;
mod regions;

const START: u32 = 8;
/// Miri (scripts/test runs these tests under it) is some 100 times slower: the long loops run
/// shorter there, the same code paths all the same.
const MIRI: bool = cfg!(miri);

struct TestHeap {
    _buffer: Vec<u64>,
    heap: Heap<Pool>,
}

impl TestHeap {
    /// A heap whose memory starts at `initial_end` and may grow up to `limit`.
    fn new(initial_end: u32, limit: u32) -> TestHeap {
        let mut buffer = vec![0u64; limit as usize / 8];
        // Safety: `buffer` covers `limit` bytes, 8-aligned, and lives in the TestHeap beside the
        // heap, which alone uses it.
        let mem = unsafe { Mem::new(buffer.as_mut_ptr() as *mut u8) };
        // Safety: as above; `START` is 8-aligned, non-zero and below `limit`.
        let heap = unsafe { Heap::new(mem, START, Pool { limit }) };
        assert!(heap.ensure_init(initial_end));
        TestHeap { _buffer: buffer, heap }
    }

    fn with_limit(limit: u32) -> TestHeap {
        TestHeap::new(65536, limit)
    }

    /// A heap that may grow to 1 MiB with a block allocated for each of `requests`, in order: the
    /// heap and the blocks' payloads.
    fn with_blocks<const N: usize>(requests: [u32; N]) -> (TestHeap, [u32; N]) {
        let t = TestHeap::with_limit(1 << 20);
        let blocks = requests.map(|request| t.heap.allocate(request));
        (t, blocks)
    }

    #[expect(clippy::mut_from_ref, reason = "a view of the heap's memory, which `self` does not own")]
    fn bytes(&self, payload: u32, len: u32) -> &mut [u8] {
        // Safety: callers pass a live block's payload and at most its size; the slice is used for
        // one statement, between calls of the heap (Miri checks that no call overlaps it).
        unsafe { std::slice::from_raw_parts_mut(self.heap.mem.ptr(payload), len as usize) }
    }

    fn sound(&self) -> Stats {
        assert_eq!(self.heap.verify(), Ok(()));
        self.heap.stats()
    }

    /// Bytes in free and binned blocks: `stats().free_bytes` without the space above the top.
    fn free_below_top(&self) -> u32 {
        let s = self.sound();
        s.free_bytes - (s.heap_bytes + START - s.heap_top)
    }

    /// Bytes in binned and in listed free blocks, by a walk of every block below the top.
    fn binned_and_listed(&self) -> (u32, u32) {
        let (mut binned, mut listed) = (0, 0);
        let mut at = self.empty_top();
        // SAFETY: the root's borrow ends in the comparison.
        while at < unsafe { self.heap.root() }.top {
            let header = self.heap.mem.load(at);
            let size = header & crate::core::block::SIZE_MASK;
            if header & crate::core::block::BINNED != 0 {
                binned += size;
            } else if header & crate::core::block::FREE != 0 {
                listed += size;
            }
            at += size;
        }
        (binned, listed)
    }

    fn binned(&self) -> u32 {
        self.binned_and_listed().0
    }

    fn empty_top(&self) -> u32 {
        START + ROOT_SIZE + CONTROL_SIZE
    }
}
