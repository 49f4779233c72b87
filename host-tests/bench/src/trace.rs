//! A trace: a seeded, deterministic `(op, slot, size)` list that the driver replays, and the
//! [`Builder`] every generator goes through.
//!
//! A *slot* names a live block for the lifetime of the block; freed slots are reused. The builder
//! keeps the live set, the requested bytes and their peak, so that every trace knows its peak live
//! bytes (the denominator of the memory figure).

use crate::rng::Rng;

pub const ALLOC: u8 = 0;
pub const FREE: u8 = 1;
pub const REALLOC: u8 = 2;

#[derive(Clone, Copy, Debug)]
pub struct Op {
    pub kind: u8,
    pub slot: u32,
    pub size: u32,
}

pub struct Trace {
    pub name: &'static str,
    pub desc: String,
    pub ops: Vec<Op>,
    /// Slots used (the slot table's length).
    pub slots: u32,
    pub counts: [u64; 3],
    pub peak_live_bytes: u64,
    pub peak_live_blocks: u64,
}

/// Builds a trace while tracking the live set.
pub struct Builder {
    ops: Vec<Op>,
    /// Requested size of each slot's block (0 when free).
    size: Vec<u32>,
    /// Position of each live slot in `live`.
    pos: Vec<u32>,
    pub live: Vec<u32>,
    free_slots: Vec<u32>,
    pub live_bytes: u64,
    peak_bytes: u64,
    peak_blocks: u64,
    counts: [u64; 3],
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            ops: Vec::new(),
            size: Vec::new(),
            pos: Vec::new(),
            live: Vec::new(),
            free_slots: Vec::new(),
            live_bytes: 0,
            peak_bytes: 0,
            peak_blocks: 0,
            counts: [0; 3],
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    fn peak(&mut self) {
        self.peak_bytes = self.peak_bytes.max(self.live_bytes);
        self.peak_blocks = self.peak_blocks.max(self.live.len() as u64);
    }

    pub fn alloc(&mut self, size: u64) -> u32 {
        let size = size as u32;
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.size.push(0);
            self.pos.push(0);
            self.size.len() as u32 - 1
        });
        self.size[slot as usize] = size;
        self.pos[slot as usize] = self.live.len() as u32;
        self.live.push(slot);
        self.live_bytes += size as u64;
        self.push(ALLOC, slot, size);
        self.peak();
        slot
    }

    pub fn free(&mut self, slot: u32) {
        let i = self.pos[slot as usize] as usize;
        debug_assert_eq!(self.live[i], slot);
        self.live.swap_remove(i);
        if let Some(&moved) = self.live.get(i) {
            self.pos[moved as usize] = i as u32;
        }
        self.live_bytes -= self.size[slot as usize] as u64;
        self.size[slot as usize] = 0;
        self.free_slots.push(slot);
        self.push(FREE, slot, 0);
    }

    pub fn realloc(&mut self, slot: u32, size: u64) {
        let size = size as u32;
        self.live_bytes = self.live_bytes - self.size[slot as usize] as u64 + size as u64;
        self.size[slot as usize] = size;
        self.push(REALLOC, slot, size);
        self.peak();
    }

    fn push(&mut self, kind: u8, slot: u32, size: u32) {
        self.ops.push(Op { kind, slot, size });
        self.counts[kind as usize] += 1;
    }

    pub fn size_of(&self, slot: u32) -> u64 {
        self.size[slot as usize] as u64
    }

    pub fn random_live(&self, rng: &mut Rng) -> Option<u32> {
        if self.live.is_empty() { None } else { Some(self.live[rng.below(self.live.len() as u64) as usize]) }
    }

    pub fn free_all(&mut self) {
        while let Some(&slot) = self.live.last() {
            self.free(slot);
        }
    }

    /// The trace so far, with the builder's counts and peaks.
    pub fn finish(mut self, name: &'static str, desc: String) -> Trace {
        self.take_trace(name, desc)
    }

    /// The ops so far as a trace, keeping the live set to continue from (with [`Builder::take_ops`]).
    pub fn take_trace(&mut self, name: &'static str, desc: String) -> Trace {
        Trace {
            name,
            desc,
            slots: self.slot_count(),
            ops: self.take_ops(),
            counts: self.counts,
            peak_live_bytes: self.peak_bytes,
            peak_live_blocks: self.peak_blocks,
        }
    }

    /// The ops since the last take.
    pub fn take_ops(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.ops)
    }

    /// Slots in use so far (for sizing a slot table).
    pub fn slot_count(&self) -> u32 {
        self.size.len() as u32
    }
}

/// Live requested bytes after the first `n` ops of `trace`.
pub fn live_bytes_after(trace: &Trace, n: usize) -> u64 {
    let mut size = vec![0u64; trace.slots as usize];
    let mut live = 0u64;
    for op in &trace.ops[..n] {
        let s = &mut size[op.slot as usize];
        live -= *s;
        *s = if op.kind == FREE { 0 } else { op.size as u64 };
        live += *s;
    }
    live
}
