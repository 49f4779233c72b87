//! Size classes of the two-level segregated fit.
//!
//! Only blocks larger than the largest bin (`segment::BIN_MAX`, 504 bytes) are ever on a class
//! list, so classes start at [`MIN_LISTED`] = 64 bytes and need no linear range for small sizes:
//! the first level is the power of two, split into [`SL_COUNT`] equal second-level ranges.
//!
//! ```text
//! fl 0: 64 72 80 ... 120           (step 8)
//! fl 1: 128 144 ... 240            (step 16)
//! fl 2: 256 288 ... 480            (step 32)
//! fl 3: 512 576 ... 960            (step 64; the first class a listed block can have)
//! fl k: [2^(k+6), 2^(k+7)) in 8 steps, up to fl 25 = [2^31, 2^32)
//! ```
//!
//! `class` files a block; `class_at_least` rounds a request up to a class whose every block fits
//! ("good fit"), so the search never walks a list beyond the few blocks of the request's own list
//! that `Segment::take` looks at first.

pub const SL_LOG: u32 = 3;
pub const SL_COUNT: usize = 1 << SL_LOG;
const MIN_LOG: u32 = SL_LOG + 3;
/// The smallest size with a class: below it, the steps of the second level would be under 8.
pub const MIN_LISTED: u32 = 1 << MIN_LOG;
pub const FL_COUNT: usize = (32 - MIN_LOG) as usize;
/// Tables indexed by first level have this many rows, a power of two, so that an index masked
/// with `FL_ROWS - 1` needs no bounds check (and the module no panic path).
pub const FL_ROWS: usize = FL_COUNT.next_power_of_two();

/// The (first, second) level of the list that holds free blocks of `size` bytes, at least
/// [`MIN_LISTED`].
#[inline]
pub fn class(size: u32) -> (u32, u32) {
    debug_assert!(size >= MIN_LISTED);
    let log = 31 - size.leading_zeros();
    (log.wrapping_sub(MIN_LOG), (size >> (log.wrapping_sub(SL_LOG) & 31)) & (SL_COUNT as u32 - 1))
}

/// Whether sizes `a` ≤ `b` (`b` at least [`MIN_LISTED`]) have the same class: they agree from the
/// top bit down to the second level's, the bits that `class` reads. An `a` below `MIN_LISTED`
/// has no class: its top bit is below `b`'s, so the answer is false.
#[inline]
pub fn same_class(a: u32, b: u32) -> bool {
    debug_assert!(MIN_LISTED <= b && a <= b);
    let same = (a ^ b) >> ((31 - b.leading_zeros()).wrapping_sub(SL_LOG) & 31) == 0;
    debug_assert_eq!(same, a >= MIN_LISTED && class(a) == class(b));
    same
}

/// The first class whose blocks are all at least `size` bytes (at least [`MIN_LISTED`]), or
/// `None` past the last class.
#[inline]
pub fn class_at_least(size: u32) -> Option<(u32, u32)> {
    debug_assert!(size >= MIN_LISTED);
    let step = 1 << ((31 - size.leading_zeros()).wrapping_sub(SL_LOG) & 31);
    size.checked_add(step - 1).map(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smallest and largest size that `class` files under (fl, sl).
    fn range(fl: u32, sl: u32) -> (u64, u64) {
        let base = 1u64 << (fl + MIN_LOG);
        let step = base >> SL_LOG;
        (base + step * sl as u64, base + step * (sl as u64 + 1) - 1)
    }

    #[test]
    #[cfg_attr(miri, ignore = "arithmetic over 10^5 sizes, no unsafe code: Miri adds nothing")]
    fn classes_are_monotonic_and_within_range() {
        let mut last = (0, 0);
        for size in (MIN_LISTED..1 << 20).step_by(8).chain([u32::MAX - 7, 1 << 31]) {
            let (fl, sl) = class(size);
            assert!((fl as usize) < FL_COUNT && (sl as usize) < SL_COUNT);
            let (lo, hi) = range(fl, sl);
            assert!(lo <= size as u64 && size as u64 <= hi, "{size} in ({fl},{sl})");
            if size < 1 << 20 {
                assert!((fl, sl) >= last);
                last = (fl, sl);
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "arithmetic over 10^5 sizes, no unsafe code: Miri adds nothing")]
    fn same_class_agrees_with_class() {
        for a in (MIN_LISTED..1 << 16).step_by(40).chain([1 << 31, u32::MAX - 7 - 4096]) {
            for b in (a..a.saturating_add(4096)).step_by(8) {
                assert_eq!(same_class(a, b), class(a) == class(b), "{a} {b}");
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "arithmetic over 10^5 sizes, no unsafe code: Miri adds nothing")]
    fn good_fit_class_only_holds_blocks_that_fit() {
        for size in (MIN_LISTED..1 << 18).step_by(8) {
            let (fl, sl) = class_at_least(size).unwrap();
            assert!(range(fl, sl).0 >= size as u64, "{size} -> ({fl},{sl})");
            // and it is the first such class: the previous one can hold a smaller block
            if class(size) != (fl, sl) {
                assert!(range(class(size).0, class(size).1).0 < size as u64);
            }
        }
        assert_eq!(class_at_least(u32::MAX - 7), None);
    }
}
