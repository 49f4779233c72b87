//! The harness: a heap in a host buffer beside its shadow model, and how an operation's
//! arguments (pointers, marks) resolve against the model. Its rooms: `fill` (the data pattern),
//! `operations` (each operation, predicted and checked), `checks` (the whole after each step).

mod checks;
mod fill;
mod operations;

use std::collections::BTreeMap;

use wasmheap::block::{HEADER, MIN_BLOCK, block_size};
use wasmheap::{CONTROL_SIZE, Heap, MAX_ALIGN, Mem, Pool, ROOT_SIZE, Stats};
use wasmheap_model::Counters;

use crate::{Input, MarkRef, Ptr, START};

/// Dead pointers and issued mark tokens kept for reuse by later operations.
const HISTORY: usize = 256;

/// What a block holds: its first `filled` bytes are the pattern of `seed` (see `fill.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill {
    seed: u8,
    filled: u32,
}

/// A live block of the model: its request (`size`), alignment, the depth of its segment (`seg`)
/// and what it holds.
pub(crate) type Block = wasmheap_model::Block<Fill>;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    id: u32,
    /// Offset of its control block.
    control: u32,
}

pub struct Harness {
    _buffer: Vec<u64>,
    base: *mut u8,
    buffer_len: u32,
    limit: u32,
    live: BTreeMap<u32, Block>,
    dead: Vec<u32>,
    segments: Vec<Segment>,
    floor: u32,
    clock: u32,
    tokens: Vec<u32>,
    counters: Counters,
    /// `memory_grows` and the end of memory after the last check: neither goes down.
    memory_grows: u32,
    end: u32,
    seeds: u8,
    step: usize,
}

/// What a step expects of an allocation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Expect {
    Succeed,
    Fail,
    Either,
}

/// Bytes to skip from a block at `at` so that its payload is `align`-aligned (as the heap does).
pub(crate) fn aligned_gap(at: u32, align: u32) -> u64 {
    let align = align.max(HEADER) as u64;
    let payload = at as u64 + HEADER as u64;
    let mut gap = payload.wrapping_neg() & (align - 1);
    if gap != 0 && gap < MIN_BLOCK as u64 {
        gap += align;
    }
    gap
}

impl Harness {
    /// A heap in a fresh buffer, or `None` when the buffer cannot hold the heap's own records
    /// (then `ensure_init` must have said so).
    pub fn new(input: &Input) -> Option<Harness> {
        let buffer_len = input.buffer_len();
        let mut buffer = vec![0u64; buffer_len as usize / 8];
        let base = buffer.as_mut_ptr() as *mut u8;
        let mut h = Harness {
            _buffer: buffer,
            base,
            buffer_len,
            limit: buffer_len,
            live: BTreeMap::new(),
            dead: Vec::new(),
            segments: vec![Segment { id: 1, control: START + ROOT_SIZE }],
            floor: 0,
            clock: 1,
            tokens: Vec::new(),
            counters: Counters::default(),
            memory_grows: 0,
            end: 0,
            seeds: 0,
            step: 0,
        };
        let needed = START + ROOT_SIZE + CONTROL_SIZE;
        let ok = h.heap().ensure_init(input.initial_end());
        assert_eq!(ok, needed <= buffer_len, "ensure_init({}) in a buffer of {buffer_len}", input.initial_end());
        if !ok {
            return None;
        }
        h.check(true);
        Some(h)
    }

    pub(crate) fn heap(&self) -> Heap<Pool> {
        // SAFETY: `base` points to the harness's buffer of `buffer_len` >= `limit` bytes, 8-aligned
        // (a Vec<u64>), which lives as long as the harness and which only the heap and the
        // harness's reads and writes of live blocks touch; `START` is 8-aligned and non-zero.
        unsafe { Heap::new(Mem::new(self.base), START, Pool { limit: self.limit }) }
    }

    pub(crate) fn first_payload(&self) -> u32 {
        START + ROOT_SIZE + CONTROL_SIZE + HEADER
    }

    pub(crate) fn depth(&self) -> u32 {
        self.segments.len() as u32 - 1
    }

    // ---- model helpers ----

    pub(crate) fn stats(&self) -> Stats {
        self.heap().stats()
    }

    /// Whether memory up to `new_top` can be had: it is there already, or the pool gives it.
    pub(crate) fn fits(&self, s: &Stats, new_top: u64) -> bool {
        let end = (s.heap_start + s.heap_bytes) as u64;
        new_top <= end || new_top <= self.limit as u64
    }

    pub(crate) fn expect_allocation(&self, s: &Stats, request: u32, align: u32) -> Expect {
        let Some(size) = block_size(request) else { return Expect::Fail };
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Expect::Fail;
        }
        let new_top = s.heap_top as u64 + aligned_gap(s.heap_top, align) + size as u64;
        if self.fits(s, new_top) { Expect::Succeed } else { Expect::Either }
    }

    pub(crate) fn note_dead(&mut self, p: u32) {
        if self.dead.len() == HISTORY {
            self.dead.remove(0);
        }
        self.dead.push(p);
    }

    pub(crate) fn note_token(&mut self, t: u32) {
        if self.tokens.len() == HISTORY {
            self.tokens.remove(0);
        }
        self.tokens.push(t);
    }

    pub(crate) fn add_live(&mut self, p: u32, block: Block) {
        let old = self.live.insert(p, block);
        assert!(old.is_none(), "step {}: {p:#x} handed out while live ({old:?})", self.step);
    }

    pub(crate) fn remove_live(&mut self, p: u32) -> Block {
        let b = self.live.remove(&p).unwrap();
        self.note_dead(p);
        b
    }

    /// Drops the blocks of segments `depth` and above; they must be gone from the heap.
    pub(crate) fn drop_blocks_from(&mut self, depth: u32) {
        let dropped: Vec<u32> = self.live.iter().filter(|(_, b)| b.seg >= depth as usize).map(|(&p, _)| p).collect();
        for p in dropped {
            let b = self.remove_live(p);
            self.counters.released(b.size);
            assert_eq!(self.heap().size(p), 0, "step {}: {p:#x} still live after its segment was released", self.step);
        }
    }

    pub(crate) fn nth_live(&self, i: u16) -> Option<(u32, Block)> {
        if self.live.is_empty() {
            return None;
        }
        self.live.iter().nth(i as usize % self.live.len()).map(|(&p, &b)| (p, b))
    }

    pub(crate) fn resolve(&self, ptr: Ptr) -> u32 {
        let live = |i: u16| self.nth_live(i);
        match ptr {
            Ptr::Live(i) => live(i).map_or(0, |(p, _)| p),
            Ptr::Dead(i) => {
                if self.dead.is_empty() {
                    0
                } else {
                    self.dead[i as usize % self.dead.len()]
                }
            }
            Ptr::Interior { block, offset } => live(block).map_or(0, |(p, b)| p + offset as u32 % b.size.max(1) + 1),
            Ptr::InteriorAligned { block, words } => {
                live(block).map_or(0, |(p, b)| p + 8 * (words as u32 % (b.size / 8 + 1) + 1))
            }
            Ptr::Misaligned { block, by } => live(block).map_or(0, |(p, _)| p + by as u32 % 7 + 1),
            Ptr::Header { block, words } => {
                live(block).map_or(0, |(p, _)| p.saturating_sub(8 * (words as u32 % 4 + 1)))
            }
            Ptr::PastEnd(i) => live(i).map_or(0, |(p, b)| p + b.size),
            Ptr::Control(d) => self.segments[d as usize % self.segments.len()].control + HEADER,
            Ptr::Special(k) => {
                let s = self.stats();
                let end = s.heap_start + s.heap_bytes;
                [
                    START,
                    START + ROOT_SIZE,
                    START + ROOT_SIZE + HEADER,
                    self.first_payload(),
                    s.heap_top,
                    s.heap_top - 8,
                    s.heap_top + 8,
                    end,
                    end - 8,
                    self.buffer_len,
                    u32::MAX,
                    0xFFFF_FFF8,
                    0x8000_0000,
                    8,
                    4,
                    1,
                ][k as usize % 16]
            }
            Ptr::Foreign(x) => x,
            Ptr::Null => 0,
        }
    }

    pub(crate) fn resolve_mark(&self, mark: MarkRef) -> u32 {
        let issued = |i: u16| if self.tokens.is_empty() { 0 } else { self.tokens[i as usize % self.tokens.len()] };
        match mark {
            MarkRef::Issued(i) => issued(i),
            MarkRef::Newest => self.tokens.last().copied().unwrap_or(0),
            MarkRef::Tweak { mark, xor } => issued(mark) ^ xor,
            MarkRef::AtDepth { depth, id } => (id << 8) | (depth as u32 % (self.depth() + 2)),
            MarkRef::Bogus(x) => x,
        }
    }

    /// The token the model says is valid for the segment at `depth`.
    pub(crate) fn token(&self, depth: u32) -> u32 {
        (self.segments[depth as usize].id & 0xFF_FFFF) << 8 | depth
    }
}
