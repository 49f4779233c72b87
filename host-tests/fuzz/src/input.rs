//! The input of the fuzz target: what an input decodes into (with `arbitrary`), and the values
//! its fields stand for.

use arbitrary::Arbitrary;
use wasmheap::block::MAX_REQUEST;

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Size of the buffer, which is also the pool's limit: see [`Input::buffer_len`].
    pub buffer: u16,
    /// The end passed to `ensure_init` (0 = grow at once).
    pub initial_end: u16,
    pub ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Alloc {
        size: Size,
        write: bool,
    },
    AllocAligned {
        size: Size,
        align: Align,
        write: bool,
    },
    /// Up to 32 allocations of the same size: fills memory quickly.
    AllocMany {
        count: u8,
        size: Size,
        write: bool,
    },
    Dealloc(Ptr),
    Realloc {
        ptr: Ptr,
        size: Size,
        write: bool,
    },
    Size(Ptr),
    /// Rewrites a live block with a new pattern.
    Write {
        block: u16,
        seed: u8,
    },
    GetMark,
    /// Up to 64 marks at once: reaches the depth limit (255) in a few operations.
    GetMarks(u8),
    ToMark(MarkRef),
    FreeAllMark,
    FreeAll,
    /// Changes the pool's limit: growth fails while it is below what a request needs.
    Limit(Limit),
    /// `ensure_init(end of memory + n)` on an initialised heap: must change nothing.
    Reinit(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Tiny(u8),
    Small(u16),
    Medium(u32),
    Large(u32),
    /// `u32::MAX - n`
    NearMax(u16),
    /// `MAX_REQUEST + n` (wrapping)
    AroundMaxRequest(i16),
    /// `2^shift + delta` (wrapping)
    Pow2 {
        shift: u8,
        delta: i8,
    },
    Raw(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `2^(n % 17)`: 1 to 65536, all valid.
    Valid(u8),
    /// `2^(17 + n % 15)`: too large.
    TooLarge(u8),
    /// Any value (mostly not a power of two).
    Raw(u32),
    Zero,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ptr {
    /// A live block (index into the live blocks in address order).
    Live(u16),
    /// A pointer that was live once: freed, released by a mark, moved by `reallocate`.
    Dead(u16),
    /// Inside a live block: `offset % max(request, 1) + 1` bytes past its start.
    Interior {
        block: u16,
        offset: u16,
    },
    /// An interior pointer rounded to 8: where a stale header could be.
    InteriorAligned {
        block: u16,
        words: u16,
    },
    /// A live block's pointer plus 1 to 7.
    Misaligned {
        block: u16,
        by: u8,
    },
    /// Before a live block's payload: its header (words = 1), or further back.
    Header {
        block: u16,
        words: u8,
    },
    /// Just past a live block's request.
    PastEnd(u16),
    /// A segment's control block payload (index = depth).
    Control(u8),
    /// Heap landmarks: start, base, top, end, buffer end, `u32::MAX`...
    Special(u8),
    Foreign(u32),
    Null,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkRef {
    /// A token the heap returned (valid or used up).
    Issued(u16),
    /// The newest token issued.
    Newest,
    /// An issued token with some bits flipped.
    Tweak {
        mark: u16,
        xor: u32,
    },
    /// A token whose depth byte is right but whose id is the given one.
    AtDepth {
        depth: u8,
        id: u32,
    },
    Bogus(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The current end: no growth at all.
    Freeze,
    /// `n` 64 KiB pages (capped at the buffer).
    Pages(u8),
    /// Any byte count up to the buffer.
    Bytes(u32),
    /// The whole buffer again.
    Restore,
}

impl Input {
    /// 4 KiB to 68 KiB in steps of 8 (one input in 8), else 64 KiB to 8 MiB in 64 KiB steps.
    pub fn buffer_len(&self) -> u32 {
        let b = self.buffer as u32;
        if b.is_multiple_of(8) { 4096 + (b >> 3) * 8 } else { ((b >> 3) % 128 + 1) * 65536 }
    }

    pub fn initial_end(&self) -> u32 {
        (self.initial_end as u32 * 64) % (self.buffer_len() + 1)
    }
}

impl Size {
    pub fn value(self) -> u32 {
        match self {
            Size::Tiny(n) => n as u32 % 65,
            Size::Small(n) => n as u32 % 2049,
            Size::Medium(n) => n % (1 << 17),
            Size::Large(n) => n % (1 << 24),
            Size::NearMax(n) => u32::MAX - n as u32,
            Size::AroundMaxRequest(d) => MAX_REQUEST.wrapping_add(d as i32 as u32),
            Size::Pow2 { shift, delta } => (1u32 << (shift % 32)).wrapping_add(delta as i32 as u32),
            Size::Raw(n) => n,
        }
    }
}

impl Align {
    pub fn value(self) -> u32 {
        match self {
            Align::Valid(n) => 1 << (n % 17),
            Align::TooLarge(n) => 1 << (17 + n % 15),
            Align::Raw(n) => n,
            Align::Zero => 0,
        }
    }
}
