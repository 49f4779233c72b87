//! SplitMix64: the one seeded generator of the tests, the soak and the fuzz harness's random runs.
//! A seed can be split into independent streams ([`Rng::new`]), so that a run's extra checks draw
//! from a stream of their own and never change the operations a seed produces.

/// The SplitMix64 finaliser: a 64-bit bijection with good avalanche.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Stream `stream` of `seed`.
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(mix(seed ^ mix(stream.wrapping_add(0x5EED))))
    }

    /// Stream 0 of `seed`.
    pub fn seeded(seed: u64) -> Rng {
        Rng::new(seed, 0)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `0..n` as a `u32` (`n > 0`).
    pub fn below32(&mut self, n: u32) -> u32 {
        self.below(n as u64) as u32
    }

    /// Uniform in `0..n` as a `usize` (`n > 0`): an index.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi as u64 - lo as u64 + 1) as u32
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}

/// `len` bytes of a pattern determined by `id` (distinct ids give distinct patterns): what a
/// model's block holds, regenerated from its tag when it is checked.
pub fn pattern(id: u64, len: u32) -> Vec<u8> {
    Rng::new(id, 0x9A77).bytes(len as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_streams_differ() {
        let (mut a, mut b, mut c) = (Rng::new(7, 1), Rng::new(7, 1), Rng::new(7, 2));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..8).map(|_| c.next_u64()).collect::<Vec<_>>());
        assert!((0..1000).all(|_| a.below(10) < 10 && (3..=9).contains(&a.range(3, 9))));
    }

    #[test]
    fn patterns_differ_by_id_and_keep_their_prefix() {
        assert_ne!(pattern(1, 64), pattern(2, 64));
        assert_eq!(&pattern(3, 100)[..40], &pattern(3, 40)[..]);
    }
}
