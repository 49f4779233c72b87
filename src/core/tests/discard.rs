//! Discardable pages (`discard.rs`): the listing against an independent walk of what the heap
//! keeps, and garbage in listed ranges left alone by a random program.

use super::model::random_step;
use super::*;

impl TestHeap {
    /// Every discardable range at `page`, listed whole; and listed again three at a time,
    /// resuming from the last end, which must give the same ranges.
    fn discardable(&self, page: u32) -> Vec<crate::Range> {
        let mut all = vec![crate::Range::default(); 4096];
        let n = self.heap.discardable(0, page, &mut all).expect("a power of two");
        assert!(n < all.len(), "more ranges than the test's buffer");
        all.truncate(n);
        let (mut resumed, mut from) = (Vec::new(), 0);
        loop {
            let mut three = [crate::Range::default(); 3];
            let n = self.heap.discardable(from, page, &mut three).unwrap();
            resumed.extend_from_slice(&three[..n]);
            if n < 3 {
                break;
            }
            from = three[2].end();
        }
        assert_eq!(resumed, all, "a listing resumed three ranges at a time");
        all
    }

    /// Which bytes of `[0, end)` the heap keeps (an independent walk): the records and the
    /// padding up to the first block, control blocks, used blocks, a free block's first 12 and
    /// last 4 bytes. The rest is what may be listed: free blocks' interiors and `[top, end)`.
    fn kept_bytes(&self) -> Vec<bool> {
        // SAFETY: the root's borrows here are reads that end in their statements; nothing else
        // takes it meanwhile.
        let root = unsafe { self.heap.root() };
        let (top, end, depth) = (root.top, root.end, root.depth);
        let mut kept = vec![false; end as usize];
        let mut keep = |from: u32, to: u32| kept[from as usize..to as usize].fill(true);
        keep(0, self.heap.first());
        for d in 0..=depth {
            // SAFETY: as above.
            let control = unsafe { self.heap.root() }.segments[d as usize];
            if d > 0 {
                keep(control, control + CONTROL_SIZE);
            }
            let seg_end = self.heap.segment_end(d);
            let mut at = self.heap.blocks_of(control);
            while at < seg_end {
                let header = self.heap.mem.load(at);
                let size = header & crate::core::block::SIZE_MASK;
                if header & crate::core::block::FREE != 0 {
                    keep(at, at + 12);
                    keep(at + size - 4, at + size);
                } else {
                    keep(at, at + size);
                }
                at += size;
            }
            assert_eq!(at, seg_end);
        }
        assert!(top <= end); // nothing above the top is kept
        kept
    }

    /// The listing at `page` is exactly the whole pages of each run of bytes the heap does not
    /// keep: nothing it keeps is listed, and nothing it could list is left out.
    fn check_discardable(&self, page: u32) -> Vec<crate::Range> {
        let ranges = self.discardable(page);
        let kept = self.kept_bytes();
        let mut expected = Vec::new();
        let mut at = 0usize;
        while at < kept.len() {
            if kept[at] {
                at += 1;
                continue;
            }
            let run = at;
            while at < kept.len() && !kept[at] {
                at += 1;
            }
            let (lo, hi) = (run.next_multiple_of(page as usize), at / page as usize * page as usize);
            if lo < hi {
                expected.push(crate::Range { start: lo as u32, len: (hi - lo) as u32 });
            }
        }
        for r in &ranges {
            assert!(r.start % page == 0 && r.len % page == 0 && r.len > 0, "{r:?} at page {page}");
            let overlap = kept[r.start as usize..r.end() as usize].iter().position(|&k| k);
            assert_eq!(overlap, None, "{r:?} holds a byte the heap keeps");
        }
        assert_eq!(ranges, expected, "page {page}");
        ranges
    }

    /// Where a step that handed out the block at `block` may write outside it: the rest split
    /// off after it (12 bytes), a gap cut in front of it (its footer, and its size word and links
    /// where it starts).
    fn hand_out_window(&self, block: u32, windows: &mut Vec<(u32, u32)>) {
        let header = self.heap.mem.load(block);
        let size = header & crate::core::block::SIZE_MASK;
        windows.push((block - 4, block + size + 12));
        if header & crate::core::block::PREV_FREE != 0 {
            let gap = block - self.heap.mem.load(block - 4);
            windows.push((gap, gap + 12));
        }
    }
}

/// Discardable pages over random heaps with marks: after every step the listing at 16, 64 and
/// 4096 bytes holds no byte the heap keeps and leaves out no whole page it could list; then its
/// ranges are filled with garbage (a discard leaves zero or the initial image there: garbage is
/// worse), and the next step writes there only around the blocks it hands out, and the heap still
/// agrees with the model (contents, counters, `check()`).
#[test]
#[cfg_attr(
    miri,
    ignore = "scans every listed byte after every step: minutes under Miri; its unsafe-free walk is run \
                           there by the test below"
)]
fn discardable_ranges_hold_nothing_the_heap_keeps_and_are_left_alone() {
    const GARBAGE: u8 = 0xA5;
    let mut touched = 0;
    for seed in 1..=4u64 {
        let t = TestHeap::new(65536, 4 << 20);
        let mut rng = Rng::seeded(seed ^ 0x0D15_CA4D);
        let mut model: Model<u8> = Model::new();
        for step in 0..800u32 {
            let page = [16, 64, 4096][step as usize % 3];
            let ranges = t.check_discardable(page);
            for r in &ranges {
                t.bytes(r.start, r.len).fill(GARBAGE);
            }
            let before: Vec<(u32, u32)> = model.blocks.iter().map(|(&p, b)| (p, b.size)).collect();
            // SAFETY: a read that ends in the statement; the heap is not in a call.
            let depth = unsafe { t.heap.root() }.depth;
            let fill = (step % 251) as u8 + 1;
            random_step(&t, &mut model, &mut rng, fill).unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
            let mut windows = Vec::new();
            for (&p, b) in &model.blocks {
                if before.binary_search(&(p, b.size)).is_err() {
                    t.hand_out_window(p - 8, &mut windows);
                }
            }
            // SAFETY: as above.
            let root = unsafe { t.heap.root() };
            if root.depth > depth {
                let control = root.segments[root.depth as usize];
                windows.push((control, control + CONTROL_SIZE));
            }
            for r in &ranges {
                for (i, &byte) in t.bytes(r.start, r.len).iter().enumerate() {
                    let at = r.start + i as u32;
                    if byte != GARBAGE {
                        touched += 1;
                        assert!(
                            windows.iter().any(|&(lo, hi)| lo <= at && at < hi),
                            "seed {seed} step {step}: byte {at:#x} of {r:?} (page {page}) changed outside the \
                             blocks handed out ({windows:x?})"
                        );
                    }
                }
            }
            t.matches(&model).unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
        }
    }
    assert!(touched > 0, "no step ever took a listed byte again: the test saw nothing");
}

#[test]
fn discardable_refuses_a_page_that_is_not_a_power_of_two_and_lists_nothing_before_set_up() {
    let t = TestHeap::with_limit(1 << 20);
    let mut out = [crate::Range::default(); 4];
    for page in [0, 3, 4095, 65537, u32::MAX] {
        assert_eq!(t.heap.discardable(0, page, &mut out), None, "page {page}");
    }
    // A fresh heap: everything from the first 4 KiB page above the top to the end is listed.
    let s = t.sound();
    let top = s.heap_top;
    assert_eq!(t.heap.discardable(0, 4096, &mut out), Some(1));
    assert_eq!(out[0], crate::Range { start: top.next_multiple_of(4096), len: 65536 - top.next_multiple_of(4096) });
    // A page as large as memory fits nowhere; `from` past the end lists nothing.
    assert_eq!(t.heap.discardable(0, 1 << 31, &mut out), Some(0));
    assert_eq!(t.heap.discardable(u32::MAX, 16, &mut out), Some(0));
    // A region of zeros is a heap not set up yet: nothing to list.
    let mut buffer = vec![0u64; 8192];
    // Safety: the buffer covers 64 KiB, 8-aligned, and outlives the heap, which alone uses it.
    let fresh = unsafe { Heap::new(Mem::new(buffer.as_mut_ptr() as *mut u8), START, Pool { limit: 65536 }) };
    assert_eq!(fresh.discardable(0, 16, &mut out), Some(0));
}
