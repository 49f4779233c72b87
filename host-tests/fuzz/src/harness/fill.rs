//! The fill pattern of user data, written into a block and checked against it.
//!
//! Every 8-aligned word of it has bit 2 (`RESERVED` in a header) set: an interior pointer into
//! written data is rejected by the cheap header filter, deterministically (see the crate's top).

use super::{Block, Harness};

/// The 8 bytes at word `k` of a block written with `seed`. Bit 2 is always set (see the top).
pub(crate) fn word(seed: u8, k: u32) -> u64 {
    let x = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 29)) | 4
}

impl Harness {
    pub(crate) fn fill(&mut self, p: u32, len: u32, seed: u8) {
        assert!(p as u64 + len as u64 <= self.buffer_len as u64);
        // SAFETY: `p..p + len` lies inside the buffer (asserted above), which `base` points to and
        // the harness owns; the heap handed `p` out for `len` bytes, so no other borrow covers it.
        unsafe {
            let at = self.base.add(p as usize);
            for k in 0..len / 8 {
                (at.add(k as usize * 8) as *mut u64).write(word(seed, k));
            }
            let tail = word(seed, len / 8).to_le_bytes();
            for i in (len & !7)..len {
                *at.add(i as usize) = tail[(i & 7) as usize];
            }
        }
    }

    /// Checks bytes `from..to` of the block at `p` against its pattern.
    pub(crate) fn check_bytes(&self, p: u32, b: &Block, from: u32, to: u32) {
        let to = to.min(b.tag.filled);
        if from >= to {
            return;
        }
        let (w0, w1) = (from.div_ceil(8), to / 8);
        if w0 >= w1 {
            return self.check_bytes_slowly(p, b, from, to);
        }
        // whole words first, with one comparison at the end (the fuzz build traces every one)
        let mut diff = 0u64;
        for k in w0..w1 {
            // SAFETY: words `w0..w1` of the live block at `p` lie inside the buffer (its request,
            // `filled` bytes, was checked against the buffer when it was written); an unaligned
            // read would still be fine, and `p` is 8-aligned anyway.
            diff |= unsafe { (self.base.add(p as usize + k as usize * 8) as *const u64).read() } ^ word(b.tag.seed, k);
        }
        if diff != 0 {
            self.check_bytes_slowly(p, b, w0 * 8, w1 * 8);
        }
        self.check_bytes_slowly(p, b, from, w0 * 8);
        self.check_bytes_slowly(p, b, w1 * 8, to);
    }

    /// Byte by byte, naming the first byte that differs.
    pub(crate) fn check_bytes_slowly(&self, p: u32, b: &Block, from: u32, to: u32) {
        for i in from..to {
            // SAFETY: byte `i` of the live block at `p`, inside the buffer (as in `check_bytes`).
            let got = unsafe { *self.base.add(p as usize + i as usize) };
            let expect = word(b.tag.seed, i / 8).to_le_bytes()[(i & 7) as usize];
            assert_eq!(got, expect, "step {}: byte {i} of the live block {p:#x} ({b:?}) was overwritten", self.step);
        }
    }

    pub(crate) fn write_new(&mut self, p: u32, request: u32, write: bool) -> (u8, u32) {
        self.seeds = self.seeds.wrapping_add(1);
        let seed = self.seeds;
        if write {
            self.fill(p, request, seed);
            (seed, request)
        } else {
            (seed, 0)
        }
    }
}
