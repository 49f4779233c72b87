//! The benchmark's traces: the generators of `small`, `mixed`, `lifo`, `realloc-grow`,
//! `fragment` and talc's two, and the workloads of the heap-efficiency and scaling measures.
//! (The `recorded` trace comes from a program: `recorder.rs`.)

use crate::rng::Rng;
use crate::trace::{Builder, Op, Trace};

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
/// live; sizes from `size`; everything freed at the end.
fn random_actions(
    seed: u64,
    ops: usize,
    target: usize,
    p_realloc: f64,
    mut size: impl FnMut(&mut Rng) -> u64,
) -> Builder {
    let rng = &mut Rng::new(seed);
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
    let (ops, target) = (scale.pick(1_000_000, 60_000), scale.pick(20_000, 2_000));
    let desc = format!("random alloc/free, sizes uniform 1–128 B, about {target} blocks live");
    random_actions(1, ops, target, 0.0, |r| r.range(1, 128)).finish("small", desc)
}

pub fn mixed(scale: &Scale) -> Trace {
    let (ops, target) = (scale.pick(500_000, 30_000), scale.pick(2_000, 500));
    let desc =
        format!("random alloc/free/realloc (10 % realloc), sizes log-uniform 1 B–64 KiB, about {target} blocks live");
    random_actions(2, ops, target, 0.1, |r| r.log_uniform(1, 65536)).finish("mixed", desc)
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
    let fill = b.take_trace("scaling-fill", String::new());
    (fill, b, rng)
}

/// Continues a filled heap with `ops` mixed operations (alloc/free/realloc 40/40/20, sizes as
/// the fill), staying near the same live bytes.
pub fn scaling_mix(b: &mut Builder, rng: &mut Rng, ops: usize) -> Vec<Op> {
    while b.len() < ops {
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
    b.take_ops()
}
