//! Size classes of the two-level segregated fit.
//!
//! Block sizes below [`LINEAR_LIMIT`] get one exact class each (first level 0). Above, the first
//! level is the power of two, split into [`SL_COUNT`] equal second-level ranges:
//!
//! ```text
//! fl 0: 16 24 32 40 48 56          (one size per class)
//! fl 1: 64 72 80 ... 120           (step 8)
//! fl 2: 128 144 ... 240            (step 16)
//! fl k: [2^(k+5), 2^(k+6)) in 8 steps, up to fl 26 = [2^31, 2^32)
//! ```
//!
//! `class` files a block; `class_at_least` rounds a request up to a class whose every block fits
//! ("good fit"), so the search never walks a list beyond the few blocks of the request's own list
//! that `Segment::take` looks at first.

pub const SL_LOG: u32 = 3;
pub const SL_COUNT: usize = 1 << SL_LOG;
const LINEAR_LOG: u32 = SL_LOG + 3;
pub const LINEAR_LIMIT: u32 = 1 << LINEAR_LOG;
pub const FL_COUNT: usize = (32 - LINEAR_LOG + 1) as usize;
/// Tables indexed by first level have this many rows, a power of two, so that an index masked
/// with `FL_ROWS - 1` needs no bounds check (and the module no panic path).
pub const FL_ROWS: usize = FL_COUNT.next_power_of_two();

/// The (first, second) level of the list that holds free blocks of `size` bytes.
#[inline]
pub fn class(size: u32) -> (u32, u32) {
    if size < LINEAR_LIMIT {
        return (0, size >> 3);
    }
    let log = 31 - size.leading_zeros();
    (log - LINEAR_LOG + 1, (size >> (log - SL_LOG)) & (SL_COUNT as u32 - 1))
}

/// The first class whose blocks are all at least `size` bytes, or `None` past the last class.
#[inline]
pub fn class_at_least(size: u32) -> Option<(u32, u32)> {
    if size < LINEAR_LIMIT {
        return Some(class(size));
    }
    let step = 1 << (31 - size.leading_zeros() - SL_LOG);
    size.checked_add(step - 1).map(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smallest and largest size that `class` files under (fl, sl).
    fn range(fl: u32, sl: u32) -> (u64, u64) {
        if fl == 0 {
            return ((sl * 8) as u64, (sl * 8 + 7) as u64);
        }
        let base = 1u64 << (fl + LINEAR_LOG - 1);
        let step = base >> SL_LOG;
        (base + step * sl as u64, base + step * (sl as u64 + 1) - 1)
    }

    #[test]
    #[cfg_attr(miri, ignore = "arithmetic over 10^5 sizes, no unsafe code: Miri adds nothing")]
    fn classes_are_monotonic_and_within_range() {
        let mut last = (0, 0);
        for size in (16..1 << 20).step_by(8).chain([u32::MAX & !7, 1 << 31]) {
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
    fn good_fit_class_only_holds_blocks_that_fit() {
        for size in (16..1 << 18).step_by(8) {
            let (fl, sl) = class_at_least(size).unwrap();
            assert!(range(fl, sl).0 >= size as u64, "{size} -> ({fl},{sl})");
            // and it is the first such class: the previous one can hold a smaller block
            if size >= LINEAR_LIMIT && class(size) != (fl, sl) {
                assert!(range(class(size).0, class(size).1).0 < size as u64);
            }
        }
        assert_eq!(class_at_least(u32::MAX & !7), None);
    }
}
