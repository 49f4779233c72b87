//! Helpers and assertions of the tests: blocks filled with a byte, memory that must not change,
//! calls that must be rejected and change nothing but their counter.

use crate::Heap;

/// The statistic a rejected call must increment (see [`Heap::assert_rejected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    None,
    RejectedFrees,
    RejectedMarks,
    Failures,
}

impl Heap {
    /// Allocates `size`-byte blocks, each filled with its index, until `allocate` returns 0 (which
    /// must happen within `most` blocks); returns them.
    pub fn fill_up(&mut self, size: u32, most: usize) -> Vec<u32> {
        let mut v = Vec::new();
        loop {
            let p = self.allocate(size);
            if p == 0 {
                return v;
            }
            self.fill(p, size, v.len() as u8);
            v.push(p);
            assert!(v.len() < most, "allocate({size}) did not fail within {most} blocks");
        }
    }

    /// `alloc_filled` for each (size, byte), in order; returns the blocks.
    pub fn alloc_filled_each<const N: usize>(&mut self, blocks: [(u32, u8); N]) -> [u32; N] {
        blocks.map(|(size, byte)| self.alloc_filled(size, byte))
    }

    /// `deallocate` of each pointer, in order; then asserts `check() == 0` and returns the
    /// statistics (without the scratch block).
    #[track_caller]
    pub fn deallocate_each(&mut self, ptrs: &[u32]) -> crate::Stats {
        for &p in ptrs {
            self.deallocate(p);
        }
        self.sound_stats()
    }

    /// Asserts that the heap's top is `top` (what was freed went back to it); returns the
    /// statistics.
    #[track_caller]
    pub fn assert_top(&mut self, top: u32, what: &str) -> crate::Stats {
        let s = self.stats();
        assert_eq!(s.heap_top, top, "{what}: the top did not come back down");
        s
    }

    /// `assert_filled` for each (pointer, length, byte).
    #[track_caller]
    pub fn assert_filled_each(&self, blocks: &[(u32, u32, u8)]) {
        for &(ptr, len, byte) in blocks {
            self.assert_filled(ptr, len, byte);
        }
    }

    /// Asserts `check() == 0`, then returns the statistics (without the scratch block).
    #[track_caller]
    pub fn sound_stats(&mut self) -> crate::Stats {
        self.assert_sound();
        self.stats()
    }

    /// `allocate(size)`, asserting success, and fills the block with `byte`.
    pub fn alloc_filled(&mut self, size: u32, byte: u8) -> u32 {
        let p = self.allocate(size);
        assert!(p != 0, "allocate({size}) returned 0");
        self.fill(p, size, byte);
        p
    }

    /// Asserts that `[ptr, ptr+len)` holds only `byte`.
    #[track_caller]
    pub fn assert_filled(&self, ptr: u32, len: u32, byte: u8) {
        let bytes = self.read(ptr, len);
        if let Some(i) = bytes.iter().position(|&b| b != byte) {
            panic!("block {ptr:#x} (len {len}): byte {i} is {:#04x}, expected {byte:#04x}", bytes[i]);
        }
    }

    /// Runs `f`, a call that must be rejected, and asserts that nothing changed but `counter`:
    /// the heap's memory is the same (but for the counter's own word), every statistic is the
    /// same except `counter`, which went up by exactly one, and `check() == 0`. With
    /// [`Counter::None`] nothing at all may change (a no-op such as `deallocate(0)`).
    #[track_caller]
    pub fn assert_rejected<R>(&mut self, what: &str, counter: Counter, f: impl FnOnce(&mut Heap) -> R) -> R {
        let before = self.stats();
        let snap = self.snapshot();
        let r = f(self);
        let snap_after = self.snapshot();
        let hs = before.heap_start as usize;
        let mut expected = before;
        match counter {
            Counter::None => {
                let d = diff_words(&snap[hs..], &snap_after[hs..]);
                assert!(d.is_empty(), "{what}: heap memory changed: {:x?}", &d[..d.len().min(8)]);
            }
            Counter::RejectedFrees => expected.rejected_frees += 1,
            Counter::RejectedMarks => expected.rejected_marks += 1,
            Counter::Failures => expected.failures += 1,
        }
        if counter != Counter::None {
            assert_heap_unchanged_but_counter(&snap, &snap_after, before.heap_start);
        }
        let after = self.stats();
        assert_eq!(after, expected, "{what}: statistics (left: after, right: expected)");
        let code = self.check();
        assert_eq!(code, 0, "{what}: check() = {code}");
        r
    }

    /// Asserts `check() == 0`.
    #[track_caller]
    pub fn assert_sound(&mut self) {
        let code = self.check();
        assert_eq!(code, 0, "check() = {code}: the heap is broken");
    }
}

/// Differences between two memory snapshots as (offset, old word, new word) for each 4-byte
/// aligned word that differs, over the common length.
pub fn diff_words(before: &[u8], after: &[u8]) -> Vec<(u32, u32, u32)> {
    let n = before.len().min(after.len()) / 4 * 4;
    let word = |m: &[u8], i: usize| u32::from_le_bytes(m[i..i + 4].try_into().unwrap());
    (0..n)
        .step_by(4)
        .filter(|&i| before[i..i + 4] != after[i..i + 4])
        .map(|i| (i as u32, word(before, i), word(after, i)))
        .collect()
}

/// Asserts that the heap's memory (from `heap_start` to the end) is the same in both snapshots,
/// except possibly for one 4-byte word that went up by exactly 1 (the allocator's own
/// rejection counter, if it keeps its counters in the heap region).
#[track_caller]
pub fn assert_heap_unchanged_but_counter(before: &[u8], after: &[u8], heap_start: u32) {
    assert_eq!(before.len(), after.len(), "memory size changed");
    let hs = heap_start as usize;
    let d = diff_words(&before[hs..], &after[hs..]);
    let ok = d.is_empty() || (d.len() == 1 && d[0].2 == d[0].1.wrapping_add(1));
    assert!(ok, "heap memory changed: {:?} (offset from heap_start {heap_start:#x}, old, new)", &d[..d.len().min(16)]);
}
