//! The patterns room: every block is filled with a pattern of its own when it is handed out,
//! and its contents are checked against it whenever it is freed, reallocated or released by
//! `free_to_mark`/`free_all`, and in the checks of the heap as a whole. A byte written by anyone
//! else, or a block copied from the wrong place, shows as the first byte that differs.

use super::runner::{Block, R, Runner, ensure};
use wasmheap_model::mix;

impl Runner {
    /// The first `len` bytes of live block `b` must still hold its pattern.
    pub(super) fn pattern_check(&mut self, b: &Block, len: u32) -> R<()> {
        let mem = self.w.mem();
        ensure!(
            b.ptr as u64 + len as u64 <= mem.len() as u64,
            "live block {:#x} (size {}) reaches past the end of memory {:#x}",
            b.ptr,
            b.size,
            mem.len()
        );
        self.t.bytes_checked += len as u64;
        if let Some(i) = pattern_mismatch(&mem[b.ptr as usize..(b.ptr + len) as usize], b.id) {
            let got = mem[b.ptr as usize + i];
            return Err(format!(
                "live block {:#x} (size {}, align {}, segment {}) corrupted at byte {i}: {got:#04x}, expected {:#04x}",
                b.ptr,
                b.size,
                b.align,
                b.seg,
                pattern_byte(b.id, i)
            ));
        }
        Ok(())
    }

    /// Fills `size` bytes at `ptr` with a new block's pattern, and returns the pattern's id.
    pub(super) fn fill(&mut self, ptr: u32, size: u32) -> u64 {
        self.next_id += 1;
        let id = mix(self.next_id ^ self.cfg.seed.rotate_left(17));
        fill_pattern(&mut self.w.mem_mut()[ptr as usize..(ptr + size) as usize], id);
        id
    }
}

/// The pattern of block `id`, by 8-byte words (little-endian): word `i` is
/// `mix(id) ^ (i % 32) * K1`, and the first word of every 256-byte chunk also carries the chunk's
/// number (`^ (i / 32) * K2`), so that a copy shifted by whole chunks does not match. Filling and
/// checking go by 256-byte chunks (memcpy/memcmp): fast even in the dev profile.
const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const CHUNK: usize = 256;

fn template(id: u64) -> [u8; CHUNK] {
    let base = mix(id);
    let mut t = [0u8; CHUNK];
    for (i, w) in t.chunks_exact_mut(8).enumerate() {
        w.copy_from_slice(&(base ^ (i as u64).wrapping_mul(K1)).to_le_bytes());
    }
    t
}

/// The first word of chunk `j`.
fn chunk_head(t: &[u8; CHUNK], j: usize) -> [u8; 8] {
    let w = u64::from_le_bytes(t[..8].try_into().unwrap()) ^ (j as u64).wrapping_mul(K2);
    w.to_le_bytes()
}

fn pattern_byte(id: u64, i: usize) -> u8 {
    let t = template(id);
    if i % CHUNK < 8 { chunk_head(&t, i / CHUNK)[i % 8] } else { t[i % CHUNK] }
}

fn fill_pattern(dst: &mut [u8], id: u64) {
    let t = template(id);
    for (j, c) in dst.chunks_mut(CHUNK).enumerate() {
        let n = c.len();
        c.copy_from_slice(&t[..n]);
        let k = n.min(8);
        c[..k].copy_from_slice(&chunk_head(&t, j)[..k]);
    }
}

/// The first byte of `got` that differs from the pattern of `id`.
fn pattern_mismatch(got: &[u8], id: u64) -> Option<usize> {
    let t = template(id);
    for (j, c) in got.chunks(CHUNK).enumerate() {
        let n = c.len();
        let k = n.min(8);
        if c[..k] != chunk_head(&t, j)[..k] || c[k..] != t[k..n] {
            return (0..n).find(|&i| c[i] != pattern_byte(id, j * CHUNK + i)).map(|i| j * CHUNK + i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_round_trip_and_locate_damage() {
        for len in [0usize, 1, 7, 8, 9, 255, 256, 257, 1000, 5000] {
            let mut buf = vec![0u8; len];
            fill_pattern(&mut buf, 42);
            assert_eq!(pattern_mismatch(&buf, 42), None, "len {len}");
            for (i, &b) in buf.iter().enumerate() {
                assert_eq!(b, pattern_byte(42, i));
            }
            if len > 0 {
                assert_eq!(pattern_mismatch(&buf, 43), Some(0), "another block's pattern differs at once");
                let at = len / 2;
                buf[at] ^= 0x10;
                assert_eq!(pattern_mismatch(&buf, 42), Some(at));
            }
        }
        // A copy shifted by a whole chunk does not pass.
        let mut buf = vec![0u8; 4 * CHUNK];
        fill_pattern(&mut buf, 5);
        buf.copy_within(CHUNK.., 0);
        assert_eq!(pattern_mismatch(&buf[..3 * CHUNK], 5), Some(0));
    }
}
