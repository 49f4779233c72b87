//! Seeded, deterministic operation traces: `(op, slot, size)` lists that the driver replays.
//!
//! A *slot* names a live block for the lifetime of the block; freed slots are reused. Every
//! generator goes through [`Builder`], which keeps the live set, the requested bytes and their
//! peak, so that every trace knows its peak live bytes (the denominator of the memory figure).

use anyhow::{Context, Result, bail};
use std::collections::HashMap;

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

/// SplitMix64.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    pub fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    /// Log-uniform in `lo..=hi` (each binary order of magnitude about equally likely).
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), ((hi + 1) as f64).ln());
        ((a + (b - a) * self.f64()).exp() as u64).clamp(lo, hi)
    }
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
        self.ops.push(Op {
            kind: ALLOC,
            slot,
            size,
        });
        self.counts[ALLOC as usize] += 1;
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
        self.ops.push(Op {
            kind: FREE,
            slot,
            size: 0,
        });
        self.counts[FREE as usize] += 1;
    }

    pub fn realloc(&mut self, slot: u32, size: u64) {
        let size = size as u32;
        self.live_bytes = self.live_bytes - self.size[slot as usize] as u64 + size as u64;
        self.size[slot as usize] = size;
        self.ops.push(Op {
            kind: REALLOC,
            slot,
            size,
        });
        self.counts[REALLOC as usize] += 1;
        self.peak();
    }

    pub fn size_of(&self, slot: u32) -> u64 {
        self.size[slot as usize] as u64
    }

    pub fn random_live(&self, rng: &mut Rng) -> Option<u32> {
        if self.live.is_empty() {
            None
        } else {
            Some(self.live[rng.below(self.live.len() as u64) as usize])
        }
    }

    pub fn free_all(&mut self) {
        while let Some(&slot) = self.live.last() {
            self.free(slot);
        }
    }

    pub fn finish(self, name: &'static str, desc: String) -> Trace {
        Trace {
            name,
            desc,
            slots: self.size.len() as u32,
            ops: self.ops,
            counts: self.counts,
            peak_live_bytes: self.peak_bytes,
            peak_live_blocks: self.peak_blocks,
        }
    }
}

/// Trace lengths and populations; `quick` shrinks them for CI.
pub struct Scale {
    pub quick: bool,
}

impl Scale {
    fn pick(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// Random alloc/free (and realloc with probability `p_realloc`) keeping about `target` blocks
/// live; sizes from `size`.
fn random_actions(
    rng: &mut Rng,
    ops: usize,
    target: usize,
    p_realloc: f64,
    mut size: impl FnMut(&mut Rng) -> u64,
) -> Builder {
    let mut b = Builder::new();
    while b.len() < ops {
        if p_realloc > 0.0 && !b.live.is_empty() && rng.chance(p_realloc) {
            let slot = b.random_live(rng).unwrap();
            let s = size(rng);
            b.realloc(slot, s);
            continue;
        }
        let p_alloc = if b.live.len() < target { 0.6 } else { 0.4 };
        if b.live.is_empty() || rng.chance(p_alloc) {
            let s = size(rng);
            b.alloc(s);
        } else {
            let slot = b.random_live(rng).unwrap();
            b.free(slot);
        }
    }
    b.free_all();
    b
}

pub fn small(scale: &Scale) -> Trace {
    let mut rng = Rng::new(1);
    let (ops, target) = (scale.pick(1_000_000, 60_000), scale.pick(20_000, 2_000));
    let b = random_actions(&mut rng, ops, target, 0.0, |r| r.range(1, 128));
    b.finish(
        "small",
        format!("random alloc/free, sizes uniform 1–128 B, about {target} blocks live"),
    )
}

pub fn mixed(scale: &Scale) -> Trace {
    let mut rng = Rng::new(2);
    let (ops, target) = (scale.pick(500_000, 30_000), scale.pick(2_000, 500));
    let b = random_actions(&mut rng, ops, target, 0.1, |r| r.log_uniform(1, 65536));
    b.finish(
        "mixed",
        format!(
            "random alloc/free/realloc (10 % realloc), sizes log-uniform 1 B–64 KiB, about {target} blocks live"
        ),
    )
}

pub fn lifo(scale: &Scale) -> Trace {
    let mut rng = Rng::new(3);
    let ops = scale.pick(1_000_000, 60_000);
    let mut b = Builder::new();
    let mut stack: Vec<u32> = Vec::new();
    while b.len() < ops {
        // A random walk of the stack depth, pulled back towards 0..1000.
        let p_push = if stack.len() < 8 {
            0.8
        } else if stack.len() > 1000 {
            0.3
        } else {
            0.5
        };
        if stack.is_empty() || rng.chance(p_push) {
            stack.push(b.alloc(rng.log_uniform(1, 4096)));
        } else {
            b.free(stack.pop().unwrap());
        }
    }
    while let Some(slot) = stack.pop() {
        b.free(slot);
    }
    b.finish("lifo", "stack discipline: every free is of the newest live block; sizes log-uniform 1 B–4 KiB, depth a random walk up to about 1000".into())
}

pub fn realloc_grow(scale: &Scale) -> Trace {
    let mut rng = Rng::new(4);
    let ops = scale.pick(200_000, 20_000);
    let vectors = scale.pick(64, 32);
    let mut b = Builder::new();
    // (slot, limit): a vector doubles until its capacity passes its limit, then is dropped.
    let mut vs: Vec<(u32, u64)> = Vec::new();
    let fresh = |b: &mut Builder, rng: &mut Rng| {
        let slot = b.alloc(rng.log_uniform(8, 64));
        (slot, rng.log_uniform(256, 65536))
    };
    for _ in 0..vectors {
        let v = fresh(&mut b, &mut rng);
        vs.push(v);
    }
    while b.len() < ops {
        let i = rng.below(vs.len() as u64) as usize;
        let (slot, limit) = vs[i];
        let cap = b.size_of(slot);
        if cap * 2 > limit {
            b.free(slot);
            vs[i] = fresh(&mut b, &mut rng);
        } else {
            b.realloc(slot, cap * 2);
        }
    }
    b.free_all();
    b.finish(
        "realloc-grow",
        format!("{vectors} interleaved vectors grow by doubling (realloc) from 8–64 B to a random limit of 256 B–64 KiB, then are freed and restarted"),
    )
}

pub fn fragment(scale: &Scale) -> Trace {
    let mut rng = Rng::new(5);
    let (n, cycles) = (scale.pick(10_000, 2_000), scale.pick(20, 5));
    let mut b = Builder::new();
    for _ in 0..cycles {
        let small: Vec<u32> = (0..n).map(|_| b.alloc(rng.range(16, 256))).collect();
        for &slot in small.iter().step_by(2) {
            b.free(slot);
        }
        let large: Vec<u32> = (0..n / 4).map(|_| b.alloc(rng.range(256, 2048))).collect();
        for &slot in small.iter().skip(1).step_by(2).chain(&large) {
            b.free(slot);
        }
    }
    b.finish(
        "fragment",
        format!("{cycles} cycles of: {n} blocks of 16–256 B, free every other, {} blocks of 256–2048 B (that fit no hole), free all", n / 4),
    )
}

/// The talc wasm-perf benchmark (`wasm-perf/src/lib.rs` in SFBdragon/talc): actions chosen
/// uniformly among allocate (100–1000 B), free a random block and (unless `no_realloc`)
/// reallocate a random block to 100–10000 B, until `actions` succeeded; then free everything.
pub fn talc_perf(scale: &Scale, realloc: bool) -> Trace {
    let mut rng = Rng::new(if realloc { 6 } else { 7 });
    let actions = scale.pick(100_000, 20_000);
    let mut b = Builder::new();
    let mut score = 0;
    while score < actions {
        match rng.below(if realloc { 3 } else { 2 }) {
            0 => {
                b.alloc(rng.range(100, 1000));
                score += 1;
            }
            1 => {
                if let Some(slot) = b.random_live(&mut rng) {
                    b.free(slot);
                    score += 1;
                }
            }
            _ => {
                if let Some(slot) = b.random_live(&mut rng) {
                    b.realloc(slot, rng.range(100, 10000));
                    score += 1;
                }
            }
        }
    }
    b.free_all();
    if realloc {
        b.finish("talc-perf", format!("talc's wasm-perf random actions: {actions} actions, 1/3 each allocate 100–1000 B, free, reallocate to 100–10000 B; then free all"))
    } else {
        b.finish("talc-perf-norealloc", format!("talc's wasm-perf random actions without realloc: {actions} actions, 1/2 each allocate 100–1000 B, free; then free all"))
    }
}

/// talc's heap-efficiency actions (`benches/src/heap_efficiency.rs`): 50 % allocate
/// `generate_size(10000)` (uniform in 4..cap, cap uniform in 16..10000), 10 % free a random
/// block, 40 % reallocate a random block to 1..100000 B. Generated until the live bytes exceed
/// `cap` (so that an allocator with a memory cap of `cap` must fail before the end).
pub fn heap_efficiency(seed: u64, cap: u64) -> Trace {
    let mut rng = Rng::new(0xE000 + seed);
    let mut b = Builder::new();
    while b.live_bytes <= cap {
        match rng.below(10) {
            0..=4 => {
                let c = rng.range(16, 9999);
                b.alloc(rng.range(4, c - 1));
            }
            5 => {
                if let Some(slot) = b.random_live(&mut rng) {
                    b.free(slot);
                }
            }
            _ => {
                if let Some(slot) = b.random_live(&mut rng) {
                    b.realloc(slot, rng.range(1, 99_999));
                }
            }
        }
    }
    b.finish("heap-efficiency", String::new())
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

/// Fill to `heap` live bytes with blocks log-uniform 16 B–16 KiB, then free a random half.
/// Returns the fill trace and the builder state to continue from.
pub fn scaling_fill(heap: u64, seed: u64) -> (Trace, Builder, Rng) {
    let mut rng = Rng::new(0x5CA1E + seed);
    let mut b = Builder::new();
    while b.live_bytes < heap {
        b.alloc(rng.log_uniform(16, 16384));
    }
    let n = b.live.len() / 2;
    for _ in 0..n {
        let slot = b.random_live(&mut rng).unwrap();
        b.free(slot);
    }
    let fill = Trace {
        name: "scaling-fill",
        desc: String::new(),
        ops: std::mem::take(&mut b.ops),
        slots: b.size.len() as u32,
        counts: b.counts,
        peak_live_bytes: b.peak_bytes,
        peak_live_blocks: b.peak_blocks,
    };
    (fill, b, rng)
}

/// Continues a filled heap with `ops` mixed operations (alloc/free/realloc 40/40/20, sizes as
/// the fill), staying near the same live bytes.
pub fn scaling_mix(b: &mut Builder, rng: &mut Rng, ops: usize) -> Vec<Op> {
    b.ops.clear();
    while b.ops.len() < ops {
        let x = rng.below(10);
        if x < 4 || b.live.is_empty() {
            b.alloc(rng.log_uniform(16, 16384));
        } else if x < 8 {
            let slot = b.random_live(rng).unwrap();
            b.free(slot);
        } else {
            let slot = b.random_live(rng).unwrap();
            b.realloc(slot, rng.log_uniform(16, 16384));
        }
    }
    std::mem::take(&mut b.ops)
}

impl Builder {
    /// Slots in use so far (for sizing a slot table).
    pub fn slot_count(&self) -> u32 {
        self.size.len() as u32
    }
}

/// Converts a recorded log of `(op, ptr, size, old_ptr, align)` (op 0 alloc, 1 free, 2 realloc)
/// into a trace. Returns the trace and how many requests asked for an alignment above 8.
pub fn from_recording(log: &[[u32; 5]], rounds: u32) -> Result<Trace> {
    let mut b = Builder::new();
    let mut slot_of: HashMap<u32, u32> = HashMap::new();
    let mut over_aligned = 0;
    for &[op, ptr, size, old, align] in log {
        if align > 8 {
            over_aligned += 1;
        }
        match op {
            0 => {
                let slot = b.alloc(size as u64);
                if slot_of.insert(ptr, slot).is_some() {
                    bail!("recorded pointer {ptr:#x} allocated twice");
                }
            }
            1 => {
                let slot = slot_of
                    .remove(&ptr)
                    .context("recorded free of an unknown pointer")?;
                b.free(slot);
            }
            2 => {
                let slot = slot_of
                    .remove(&old)
                    .context("recorded realloc of an unknown pointer")?;
                b.realloc(slot, size as u64);
                slot_of.insert(ptr, slot);
            }
            _ => bail!("bad recorded op {op}"),
        }
    }
    b.free_all();
    let align_note = if over_aligned > 0 {
        format!("; {over_aligned} requests asked for alignment > 8 and are replayed 8-aligned")
    } else {
        String::new()
    };
    Ok(b.finish(
        "recorded",
        format!(
            "the GlobalAlloc calls of a Rust program compiled to wasm (host-tests/bench/recorder, {rounds} rounds: write JSON, parse into String/Vec/BTreeMap, index, serialize, re-parse){align_note}"
        ),
    ))
}
