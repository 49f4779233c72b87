// The workload of the GlobalAlloc example: Vec, String, HashMap, BTreeMap and Box churn, with a
// checksum of everything it observed. It depends only on `std` and the seed, so the wasm build
// (allocator: wasmheap) and a native build (the system allocator) must give the same checksum;
// host-tests/tests/global_alloc.rs compiles this file natively too and compares.
//
// HashMap iteration order is random: the checksum only uses order-free sums of its contents.

use std::collections::{BTreeMap, HashMap};

/// A box with a 64-byte alignment: `allocate_aligned`, and `realloc` of an over-aligned block.
#[repr(align(64))]
pub struct Aligned64 {
    pub words: [u64; 8],
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn mix(sum: u64, v: u64) -> u64 {
    (sum ^ v).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(5)
}

/// Runs `rounds` random steps from `seed`; returns the checksum. Everything it allocated is freed
/// when it returns.
pub fn workload(seed: u32, rounds: u32) -> u64 {
    let mut rng = Rng((seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut sum = 0u64;
    let mut strings: Vec<String> = Vec::new();
    let mut map: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut tree: BTreeMap<String, Box<[u8]>> = BTreeMap::new();
    let mut boxes: Vec<Box<Aligned64>> = Vec::new();
    let mut big: Vec<u64> = Vec::new();
    for round in 0..rounds {
        match rng.below(8) {
            0 => {
                let mut s = format!("string {round} of {seed}:");
                for _ in 0..rng.below(40) {
                    s.push(char::from(b'a' + rng.below(26) as u8));
                }
                strings.push(s);
            }
            1 if !strings.is_empty() => {
                let s = strings.swap_remove(rng.below(strings.len() as u64) as usize);
                sum = mix(sum, s.len() as u64 + s.bytes().map(u64::from).sum::<u64>());
            }
            2 => {
                let v = map.entry(rng.below(300)).or_default();
                for _ in 0..rng.below(50) {
                    v.push(round);
                }
            }
            3 => {
                if let Some(v) = map.remove(&rng.below(300)) {
                    sum = mix(sum, v.len() as u64 + v.iter().map(|&x| x as u64).sum::<u64>());
                }
            }
            4 => {
                let key = format!("{:08x}", rng.below(1 << 12));
                let len = rng.below(2000) as usize;
                let byte = round as u8;
                if let Some(old) = tree.insert(key, vec![byte; len].into_boxed_slice()) {
                    sum = mix(sum, old.len() as u64);
                }
            }
            5 => {
                let popped = if rng.below(2) == 0 { tree.pop_first() } else { tree.pop_last() };
                if let Some((k, v)) = popped {
                    sum = mix(sum, k.len() as u64 + v.iter().map(|&b| b as u64).sum::<u64>());
                }
            }
            6 => {
                if rng.below(3) == 0 && !boxes.is_empty() {
                    let b = boxes.swap_remove(rng.below(boxes.len() as u64) as usize);
                    assert_eq!(&*b as *const Aligned64 as usize % 64, 0);
                    sum = mix(sum, b.words.iter().fold(0, |a, &w| a.wrapping_add(w)));
                } else {
                    let v = rng.next();
                    boxes.push(Box::new(Aligned64 { words: [v; 8] }));
                }
                // A Vec of over-aligned boxes' contents grows by realloc with align 64.
                let mut aligned: Vec<Aligned64> = Vec::new();
                for i in 0..rng.below(20) {
                    aligned.push(Aligned64 { words: [i; 8] });
                }
                assert_eq!(aligned.as_ptr() as usize % 64, 0);
                sum = mix(sum, aligned.iter().map(|a| a.words[7]).sum());
            }
            _ => {
                if rng.below(4) == 0 {
                    big.truncate(rng.below(big.len() as u64 + 1) as usize);
                    big.shrink_to_fit();
                } else {
                    let n = rng.below(5000);
                    big.extend((0..n).map(|i| i ^ round as u64));
                }
                sum = mix(sum, big.len() as u64);
            }
        }
    }
    for s in &strings {
        sum = mix(sum, s.len() as u64);
    }
    let map_sum: u64 = map.iter().map(|(k, v)| k * 31 + v.len() as u64).sum();
    sum = mix(sum, map_sum);
    for (k, v) in &tree {
        sum = mix(sum, k.len() as u64 + v.len() as u64 + v.first().copied().unwrap_or(0) as u64);
    }
    sum = mix(sum, boxes.iter().map(|b| b.words[0]).fold(0, u64::wrapping_add));
    mix(sum, big.iter().fold(0, |a, &b| a.wrapping_add(b)))
}
