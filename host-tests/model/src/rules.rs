//! What the heap must refuse, whatever its flavor (src/CONTRACT.md, "Limits").

/// The deepest nesting of marks and floors: `free_get_mark` and `free_all_mark` fail beyond it.
pub const MAX_DEPTH: usize = 255;

/// The largest alignment `allocate_aligned` accepts.
pub const MAX_ALIGN: u32 = 65536;

/// The largest request the heap can serve; a larger one fails without wrapping.
pub const MAX_REQUEST: u32 = 0xFFFE_0000;

/// Whether `allocate_aligned` accepts `align`: a power of two up to [`MAX_ALIGN`].
pub fn valid_align(align: u32) -> bool {
    align.is_power_of_two() && align <= MAX_ALIGN
}

/// The alignment a block handed out for `align` keeps: at least 8 (every block is 8-aligned).
pub fn block_align(align: u32) -> u32 {
    align.max(8)
}
