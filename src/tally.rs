//! A count and a byte total in one 64-bit word, so that a call updates both with one add.
//!
//! ```text
//!  bits 63..32: count      bits 31..0: bytes
//! ```
//!
//! The byte total never leaves `0..2^32` (it counts requested bytes of live blocks, which all fit
//! in memory), so adding or taking bytes never carries into the count.

#[repr(transparent)]
#[derive(Clone, Copy, Default)]
pub struct Tally(u64);

const ONE: u64 = 1 << 32;

impl Tally {
    #[inline(always)]
    pub fn count(self) -> u32 {
        (self.0 >> 32) as u32
    }

    #[inline(always)]
    pub fn bytes(self) -> u32 {
        self.0 as u32
    }

    /// One more, of `bytes` bytes.
    #[inline(always)]
    pub fn add(&mut self, bytes: u32) {
        self.0 = self.0.wrapping_add(ONE | bytes as u64);
    }

    /// One more counted while `bytes` bytes leave the total (a free: one more freed block, fewer
    /// live bytes).
    #[inline(always)]
    pub fn add_count_take_bytes(&mut self, bytes: u32) {
        self.0 = self.0.wrapping_add(ONE).wrapping_sub(bytes as u64);
    }

    /// One fewer, of `bytes` bytes.
    #[inline(always)]
    pub fn take(&mut self, bytes: u32) {
        self.0 = self.0.wrapping_sub(ONE | bytes as u64);
    }

    /// The same count; the bytes go from `old` to `new`.
    #[inline(always)]
    pub fn resize(&mut self, old: u32, new: u32) {
        self.0 = self.0.wrapping_sub(old as u64).wrapping_add(new as u64);
    }

    /// One fewer, bytes unchanged (the debug layer: a reallocation it made of a free).
    #[cfg_attr(not(feature = "debug"), allow(dead_code))]
    #[inline(always)]
    pub fn take_count(&mut self) {
        self.0 = self.0.wrapping_sub(ONE);
    }

    /// Bytes only, count unchanged.
    #[inline(always)]
    pub fn add_bytes(&mut self, bytes: u32) {
        self.0 = self.0.wrapping_add(bytes as u64);
    }

    #[inline(always)]
    pub fn take_bytes(&mut self, bytes: u32) {
        self.0 = self.0.wrapping_sub(bytes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes_stay_apart() {
        let mut t = Tally::default();
        t.add(u32::MAX - 10);
        t.add(10);
        assert_eq!((t.count(), t.bytes()), (2, u32::MAX));
        t.take(10);
        t.resize(u32::MAX - 10, 5);
        assert_eq!((t.count(), t.bytes()), (1, 5));
        t.add_count_take_bytes(5);
        assert_eq!((t.count(), t.bytes()), (2, 0));
    }
}
