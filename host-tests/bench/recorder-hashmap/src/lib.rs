//! A real Rust program whose heap traffic becomes the `recorded-hashmap` benchmark trace: hash
//! tables that grow by rehashing into power-of-two tables, as a wasm program indexing text or
//! walking a graph does.
//!
//! Each round, with a fixed seed: tokenize a generated text (words made of random syllables, so
//! that the vocabulary keeps growing) and count the words in a `hashbrown::HashMap<String, u32>`
//! (keys allocated only for new words, through `entry_ref`); keep the most frequent ones in a
//! long-lived map across rounds (with a `Vec<u32>` of positions per word, capped, and the rarest
//! words evicted when it passes 2000 entries); build a random graph as a `HashMap<u32, Vec<u32>>`
//! of adjacency lists and a `HashMap<(u32, u32), u32>` of edge weights, then count its connected
//! components by breadth-first search with a `HashSet` and a `VecDeque`. Hashing is rustc-hash's
//! `FxBuildHasher` (fixed, so that the trace is deterministic).
//!
//! Its `GlobalAlloc` calls are logged to the host by the `recording` crate.
#![no_std]

extern crate alloc;
extern crate recording;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use hashbrown::{HashMap, HashSet};
use recording::Rng;
use rustc_hash::FxBuildHasher;

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze", "an", "el", "is", "ob", "ur", "ya", "qua", "tri",
    "mor", "sel", "dan", "fer", "gil", "hob",
];

/// Generated text: words of 1–4 syllables, the short ones far more common (a Zipf-like skew).
fn text(rng: &mut Rng, words: u64) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(if rng.below(16) == 0 { '\n' } else { ' ' });
        }
        let n = 1 + rng.below(4).min(rng.below(4));
        for _ in 0..n {
            let skew = rng.below(SYLLABLES.len() as u64) + 1;
            s.push_str(SYLLABLES[rng.below(skew) as usize]);
        }
    }
    s
}

/// The connected components of a random graph on `nodes` nodes with `edges` edges.
fn graph(rng: &mut Rng, nodes: u32, edges: u32) -> u32 {
    let mut adj: HashMap<u32, Vec<u32>, FxBuildHasher> = HashMap::default();
    let mut weight: HashMap<(u32, u32), u32, FxBuildHasher> = HashMap::default();
    for _ in 0..edges {
        let a = rng.below(nodes as u64) as u32;
        let b = rng.below(nodes as u64) as u32;
        if a == b {
            continue;
        }
        let w = weight.entry((a.min(b), a.max(b))).or_insert(0);
        *w += 1;
        if *w == 1 {
            adj.entry(a).or_default().push(b);
            adj.entry(b).or_default().push(a);
        }
    }
    let mut seen: HashSet<u32, FxBuildHasher> = HashSet::default();
    let mut queue = VecDeque::new();
    let mut components = 0;
    for n in 0..nodes {
        if !seen.insert(n) {
            continue;
        }
        components += 1;
        queue.push_back(n);
        while let Some(x) = queue.pop_front() {
            for &y in adj.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(y) {
                    queue.push_back(y);
                }
            }
        }
    }
    components
}

/// Runs the workload `rounds` times; returns a checksum (so that nothing is optimized away).
#[unsafe(no_mangle)]
pub extern "C" fn run(rounds: u32) -> u32 {
    let mut rng = Rng(0x4A54_4B1E_0000_0F00);
    // word -> (count, first positions), across rounds.
    let mut corpus: HashMap<String, (u32, Vec<u32>), FxBuildHasher> = HashMap::default();
    let mut sum = 0u32;
    for _ in 0..rounds {
        let words = 500 + rng.below(2500);
        let t = text(&mut rng, words);
        let mut counts: HashMap<String, u32, FxBuildHasher> = HashMap::default();
        for w in t.split([' ', '\n']) {
            *counts.entry_ref(w).or_insert(0) += 1;
        }
        drop(t);
        for (pos, (w, c)) in counts.iter().enumerate() {
            let e = corpus.entry_ref(w.as_str()).or_insert_with(|| (0, Vec::new()));
            e.0 += c;
            if e.1.len() < 64 {
                e.1.push(pos as u32);
            }
        }
        if corpus.len() > 2000 {
            // Evict the rarest words: a sorted copy of the counts picks the threshold.
            let mut all: Vec<u32> = corpus.values().map(|v| v.0).collect();
            all.sort_unstable();
            let cut = all[all.len() / 2];
            corpus.retain(|_, v| v.0 > cut);
            corpus.shrink_to_fit();
        }
        let nodes = 200 + rng.below(1800) as u32;
        let edges = nodes + rng.below(nodes as u64 * 2) as u32;
        let components = graph(&mut rng, nodes, edges);
        sum = sum.wrapping_mul(31).wrapping_add(counts.len() as u32 + components + corpus.len() as u32);
    }
    sum
}
