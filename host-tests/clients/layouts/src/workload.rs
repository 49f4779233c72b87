// The workload of the layout matrix: Vec, String and BTreeMap churn with frees and reallocs, and
// some large vectors that grow memory by megabytes (unless told that the heap cannot grow). It
// uses only `alloc`, so that host-tests/tests/layouts.rs compiles it natively too (the system
// allocator) and compares the checksums. Everything it allocates is freed when it returns.
//
// Its very first request is small (a `Vec` of one `u32`): the call that meets a heap that has not
// been set up yet.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn mix(sum: u64, v: u64) -> u64 {
    (sum ^ v).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(5)
}

/// Runs `rounds` random steps from `seed`; returns the checksum of everything it observed. Without
/// `large` (a heap that cannot grow: the static pool) the large vectors stay under 8 KiB.
// The first vector is made empty and pushed to, as a program's first vector grows: `vec![seed]`
// would ask the allocator for another capacity.
#[allow(clippy::vec_init_then_push)]
pub fn workload(seed: u32, rounds: u32, large: bool) -> u64 {
    let mut first: Vec<u32> = Vec::new();
    first.push(seed);
    let mut rng = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut sum = mix(0, first[0] as u64);
    drop(first);
    let mut strings: Vec<String> = Vec::new();
    let mut tree: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let keys = if large { 512 } else { 64 };
    let mut big: Vec<u64> = Vec::new();
    for round in 0..rounds {
        let r = next(&mut rng);
        match r % 6 {
            // A String grown a character at a time (reallocs), kept.
            0 => {
                let mut s = String::new();
                for i in 0..(r >> 8) % 48 {
                    s.push(char::from(b'a' + ((r >> (i % 40)) % 26) as u8));
                }
                s.push_str("-wasmheap");
                strings.push(s);
            }
            // A String freed.
            1 if !strings.is_empty() => {
                let s = strings.swap_remove(((r >> 8) % strings.len() as u64) as usize);
                sum = mix(sum, s.len() as u64 + s.bytes().map(u64::from).sum::<u64>());
            }
            // A BTreeMap entry of up to 3 KiB, replacing (freeing) an older one.
            2 => {
                let len = ((r >> 16) % if large { 3000 } else { 300 }) as usize;
                if let Some(old) = tree.insert(((r >> 8) % keys) as u32, alloc::vec![round as u8; len]) {
                    sum = mix(sum, old.len() as u64);
                }
            }
            // A BTreeMap entry removed, or one grown in place or moved (realloc).
            3 => {
                let key = ((r >> 8) % keys) as u32;
                if r & (1 << 40) != 0 {
                    if let Some(v) = tree.remove(&key) {
                        sum = mix(sum, v.len() as u64 + v.first().copied().unwrap_or(0) as u64);
                    }
                } else if let Some(v) = tree.get_mut(&key) {
                    v.extend_from_slice(&[7; 100]);
                    sum = mix(sum, v.len() as u64);
                }
            }
            // A large vector: grown by up to 256 KiB at a time (memory.grow), shrunk, or freed.
            4 => {
                match (r >> 8) % 4 {
                    0 => {
                        big.truncate(((r >> 16) % (big.len() as u64 + 1)) as usize);
                        big.shrink_to_fit();
                    }
                    1 if big.len() > if large { 200_000 } else { 1000 } => big = Vec::new(),
                    _ => big.extend((0..(r >> 16) % if large { 32768 } else { 64 }).map(|i| i ^ round as u64)),
                }
                sum = mix(sum, big.len() as u64);
            }
            // A short-lived vector of vectors.
            _ => {
                let mut v: Vec<Vec<u16>> = Vec::new();
                for i in 0..(r >> 8) % 16 {
                    v.push((0..i as u16 * 3).collect());
                }
                sum = mix(sum, v.iter().map(|x| x.len() as u64).sum());
            }
        }
    }
    for s in &strings {
        sum = mix(sum, s.len() as u64);
    }
    for (k, v) in &tree {
        sum = mix(sum, *k as u64 * 31 + v.len() as u64 + v.last().copied().unwrap_or(0) as u64);
    }
    mix(sum, big.iter().fold(0, |a, &b| a.wrapping_add(b)))
}
