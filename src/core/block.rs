//! Block layout: headers, tags and the arithmetic that turns a request into a block size.
//!
//! The heap is a sequence of blocks, each a multiple of 8 bytes long and 8-byte aligned. Offsets
//! are `u32` byte offsets into linear memory; `0` is the null link.
//!
//! ```text
//!  used block                                   free block
//!  b+0  +-------------------------------+       b+0  +-------------------------------+
//!       | size | 0 | PREV_FREE | FREE=0 |            | size |BINNED|PREV_FREE=0|FREE=1|
//!  b+4  +-------------------------------+       b+4  +-------------------------------+
//!       | tag: check:19 | depth:8 |     |            | next free in the same list/bin|
//!       |      slack:5                  |       b+8  +-------------------------------+
//!  b+8  +-------------------------------+            | prev (not kept by a head)     |
//!       | payload (the pointer handed   |            +-------------------------------+
//!       | out), capacity = size - 8     |            :                               :
//!       :                               :  b+size-4  +-------------------------------+
//!       +-------------------------------+            | size (footer: boundary tag)   |
//!                                                    +-------------------------------+
//! ```
//!
//! - `PREV_FREE` says the block just below is free, so its footer at `b - 4` gives its size.
//! - `BINNED` says a free block is on a bin rather than a class list (`segment.rs`).
//! - `slack` = capacity − requested size: `size()` returns the request without a second word.
//!   Blocks are split whenever the rest would make a block of [`MIN_BLOCK`], so slack ≤ 7 + 15.
//! - `depth` names the segment (mark level) that owns the block.
//! - `check` is a hash of the block's own offset, its size and its segment's epoch: a stale header
//!   (a block released by `free_to_mark`, or a header copied elsewhere or given another size) or
//!   user data behind an interior pointer fails it with probability 1 − 2⁻¹⁹. Because the size is
//!   in the hash, a header that passes also has the size it was tagged with: validation needs no
//!   separate test of the size against the segment (see `Heap::live`).
//!   A released block gets its header's `FREE` bit and a [`spoiled`] tag: a second `deallocate` of
//!   the same pointer fails even after a free list link or user data lands on the header word.

/// Bytes in front of every payload.
pub const HEADER: u32 = 8;
/// Smallest block: header plus the two list links; a free block's footer overlays the prev link.
pub const MIN_BLOCK: u32 = 16;
/// Largest request served; anything larger fails before any arithmetic can wrap (an aligned
/// search adds up to 64 KiB + 16 to the block size).
pub const MAX_REQUEST: u32 = 0xFFFE_0000;

/// Header flag: the block is free (on a class list, or a bin with [`BINNED`]).
pub const FREE: u32 = 1;
/// Header flag: the block just below is free, its size in the footer at `block - 4`.
pub const PREV_FREE: u32 = 2;
/// A free block on a bin rather than a class list (`segment.rs`). Zero in a used header.
pub const BINNED: u32 = 4;
/// The size bits of a header word (blocks are multiples of 8: the low 3 bits are the flags).
pub const SIZE_MASK: u32 = !7;

/// Bits of the tag that hold the slack (capacity − request).
pub const SLACK_BITS: u32 = 5;
/// Bits of the tag that hold the segment's depth: at most [`MAX_DEPTH`](crate::MAX_DEPTH) marks.
pub const DEPTH_BITS: u32 = 8;
/// The largest slack a tag holds.
pub const MAX_SLACK: u32 = (1 << SLACK_BITS) - 1;
const DEPTH_SHIFT: u32 = SLACK_BITS;
const CHECK_SHIFT: u32 = SLACK_BITS + DEPTH_BITS;
const CHECK_MASK: u32 = !0 << CHECK_SHIFT;

/// Block size for a request of `request` bytes, or `None` when it is too large.
#[inline]
pub fn block_size(request: u32) -> Option<u32> {
    if request > MAX_REQUEST {
        return None;
    }
    // Only a request of 0 would round to fewer than MIN_BLOCK bytes (8): it counts as 1.
    Some((request + (request == 0) as u32 + HEADER + 7) & SIZE_MASK)
}

/// Block size for a request whose payload must be 16-aligned (C's `malloc`), or `None` when it is
/// too large: a multiple of 16, so that a run of such blocks keeps every payload 16-aligned with
/// no gap between them, as dlmalloc's chunks do (`Heap::allocate16`). Its slack is at most 15,
/// plus 8 from a split that leaves less than [`MIN_BLOCK`] (a heap that mixes 8-aligned blocks).
#[inline]
pub fn block_size16(request: u32) -> Option<u32> {
    block_size(request).map(rounded16)
}

/// C's block size (a multiple of 16) for a request whose [`block_size`] is `size`.
#[inline]
pub fn rounded16(size: u32) -> u32 {
    (size + 8) & !15
}

/// One multiplication of the block's offset, its size and the segment's key mixed by xor. The key
/// is the segment's epoch rotated by 16 bits ([`epoch_key`]). For one place and size, two epochs
/// below 2¹⁶ give different check bits: the epoch only moves bits 16..32 of the product's operand,
/// and multiplying by an odd number keeps a difference that is zero below bit 16 non-zero in
/// bits 16..32, which the mask keeps.
#[inline(always)]
fn check_bits(block: u32, size: u32, key: u32) -> u32 {
    (block ^ size.rotate_left(11) ^ key).wrapping_mul(0x9E37_79B1) & CHECK_MASK
}

/// The key of a segment of this epoch, kept in its record so that tags need no rotation.
#[inline]
pub fn epoch_key(epoch: u32) -> u32 {
    epoch.rotate_left(16)
}

/// What a segment at `depth` keeps for the tags of its blocks: the depth field less the header,
/// so that [`tag`] adds the slack with one subtraction.
#[inline]
pub fn tag_base(depth: u32) -> u32 {
    (depth << DEPTH_SHIFT).wrapping_sub(HEADER)
}

/// The depth that a segment's [`tag_base`] stands for.
#[inline]
pub fn base_depth(base: u32) -> u32 {
    base.wrapping_add(HEADER) >> DEPTH_SHIFT
}

/// The tag of a used block at offset `block` of size `size` holding a request of `request` bytes,
/// in a segment with this `key` and tag `base`.
#[inline(always)]
pub fn tag(block: u32, key: u32, base: u32, size: u32, request: u32) -> u32 {
    debug_assert!(size - HEADER - request <= MAX_SLACK, "slack does not fit the tag");
    // The three fields do not overlap, so adding them is or-ing them; base + size - request is
    // the depth field plus the slack, size - HEADER - request.
    check_bits(block, size, key).wrapping_add(base).wrapping_add(size - request)
}

/// What a released block's tag becomes: its check bits inverted, so that it can never match
/// again for that place and epoch, whatever later lands in the header word beside it.
#[inline]
pub fn spoiled(tag: u32) -> u32 {
    tag ^ CHECK_MASK
}

/// The depth field of a used block's tag: the segment that owns the block. O(1).
#[inline]
pub fn tag_depth(tag: u32) -> u32 {
    (tag >> DEPTH_SHIFT) & ((1 << DEPTH_BITS) - 1)
}

/// Whether `tag`'s check bits belong to a block at `block` of `size` bytes in a segment with this
/// `key` (the rest of the tag is not looked at).
#[inline(always)]
pub fn tag_matches(tag: u32, block: u32, key: u32, size: u32) -> bool {
    (tag ^ check_bits(block, size, key)) & CHECK_MASK == 0
}

/// The request a used block of `size` bytes holds, from its tag.
#[inline(always)]
pub fn tag_request_unchecked(tag: u32, size: u32) -> u32 {
    size.wrapping_sub(HEADER + (tag & MAX_SLACK))
}

/// The request recorded in `tag`, or `None` if the tag does not belong to a block at `block` of
/// `size` bytes in a segment with this `key`, or records more slack than the block has.
#[inline]
pub fn tag_request(tag: u32, block: u32, key: u32, size: u32) -> Option<u32> {
    let slack = tag & MAX_SLACK;
    if !tag_matches(tag, block, key, size) || slack > size - HEADER {
        return None;
    }
    Some(size - HEADER - slack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes() {
        assert_eq!(block_size(0), Some(16));
        assert_eq!(block_size(8), Some(16));
        assert_eq!(block_size(9), Some(24));
        assert_eq!(block_size(MAX_REQUEST), Some(MAX_REQUEST + 8));
        assert_eq!(block_size(MAX_REQUEST + 1), None);
        assert_eq!(block_size(u32::MAX), None);
        // C's: multiples of 16, as dlmalloc steps for malloc(16 k)
        let c: std::vec::Vec<_> = [0, 8, 9, 16, 24, 32, 48, 64].map(|n| block_size16(n).unwrap()).into();
        assert_eq!(c, [16, 16, 32, 32, 32, 48, 64, 80]);
        assert_eq!(block_size16(MAX_REQUEST), Some(MAX_REQUEST + 16));
        assert_eq!(block_size16(MAX_REQUEST + 1), None);
    }

    #[test]
    fn tags_round_trip_and_reject_other_places() {
        let (k7, k8) = (epoch_key(7), epoch_key(8));
        let t = tag(4096, k7, tag_base(3), 48, 33);
        assert_eq!(base_depth(tag_base(3)), 3);
        assert_eq!(tag_depth(t), 3);
        assert_eq!(tag_request(t, 4096, k7, 48), Some(33));
        assert_eq!(tag_request(t, 4104, k7, 48), None, "same tag at another offset");
        assert_eq!(tag_request(t, 4096, k8, 48), None, "same tag in a later epoch");
        assert_eq!(tag_request(t, 4096, k7, 56), None, "same tag on a header of another size");
        assert_eq!(tag_request(spoiled(t), 4096, k7, 48), None, "a spoiled tag");
    }
}
