//! A real Rust program whose heap traffic becomes the `recorded-zip` benchmark trace: what a wasm
//! program that packs or unpacks an archive does with miniz_oxide (the deflate of the `flate2`
//! and `png` crates).
//!
//! Each round, with a fixed seed: generate a handful of files (text, CSV-like numbers, or binary
//! records with runs; sizes log-uniform 256 B–96 KiB), compress each with
//! `deflate::compress_to_vec_zlib` at a level of 1–9 and append it with a small header to an
//! archive `Vec<u8>`, with an index of `String` names; then extract every file, the odd ones with
//! `inflate::decompress_to_vec_zlib` and the even ones with the streaming inflater
//! (`InflateState::new_boxed`, 8 KiB output chunks appended to a `Vec`), and compare each with its
//! regenerated content. The archive of the previous round stays live until the next is built.
//!
//! Its `GlobalAlloc` calls are logged to the host by the `recording` crate.
#![no_std]

extern crate alloc;
extern crate recording;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::arch::wasm32;
use core::fmt::Write;
use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};
use recording::{Rng, WORDS};

/// A file's content, from its seed and size (so that extraction can regenerate it).
fn content(seed: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut v = Vec::new();
    match seed % 3 {
        0 => {
            while v.len() < size {
                v.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
                v.push(if rng.below(10) == 0 { b'\n' } else { b' ' });
            }
        }
        1 => {
            let mut line = String::new();
            while v.len() < size {
                line.clear();
                for c in 0..6 {
                    if c > 0 {
                        line.push(',');
                    }
                    let _ = write!(line, "{}", rng.below(1 << (4 * c + 4)));
                }
                line.push('\n');
                v.extend_from_slice(line.as_bytes());
            }
        }
        _ => {
            while v.len() < size {
                let run = 1 + rng.below(40) as usize;
                let byte = rng.below(256) as u8;
                if rng.below(2) == 0 {
                    v.resize(v.len() + run, byte);
                } else {
                    for _ in 0..run {
                        v.push(rng.next() as u8);
                    }
                }
            }
        }
    }
    v.truncate(size);
    v
}

struct Entry {
    name: String,
    seed: u64,
    size: usize,
    offset: usize,
    packed: usize,
}

/// Streaming inflate into 8 KiB chunks appended to a growing `Vec`.
fn inflate_streaming(input: &[u8]) -> Vec<u8> {
    let mut state = InflateState::new_boxed(DataFormat::Zlib);
    let mut chunk = vec![0u8; 8192];
    let mut out = Vec::new();
    let mut input = input;
    loop {
        let r = inflate(&mut state, input, &mut chunk, MZFlush::None);
        input = &input[r.bytes_consumed..];
        out.extend_from_slice(&chunk[..r.bytes_written]);
        match r.status {
            Ok(MZStatus::StreamEnd) => return out,
            Ok(_) if r.bytes_consumed + r.bytes_written > 0 => {}
            _ => wasm32::unreachable(),
        }
    }
}

/// Runs the workload `rounds` times; returns a checksum (so that nothing is optimized away).
#[unsafe(no_mangle)]
pub extern "C" fn run(rounds: u32) -> u32 {
    let mut rng = Rng(0x2107_0000_DEF1_A7E5);
    let mut previous: Option<(Vec<u8>, Vec<Entry>)> = None;
    let mut sum = 0u32;
    for round in 0..rounds {
        let files = 4 + rng.below(8);
        let mut archive: Vec<u8> = Vec::new();
        let mut index: Vec<Entry> = Vec::new();
        for f in 0..files {
            let seed = rng.next();
            let size = rng.log_uniform(256, 96 * 1024) as usize;
            let data = content(seed, size);
            let level = 1 + rng.below(9) as u8;
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(&data, level);
            let name = format!("round-{round}/{}-{f}.dat", WORDS[(seed % 64) as usize]);
            // A small header: name length, name, sizes.
            archive.extend_from_slice(&(name.len() as u32).to_le_bytes());
            archive.extend_from_slice(name.as_bytes());
            archive.extend_from_slice(&(size as u32).to_le_bytes());
            archive.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            let offset = archive.len();
            archive.extend_from_slice(&packed);
            index.push(Entry { name, seed, size, offset, packed: packed.len() });
        }
        drop(previous.take());
        for (i, e) in index.iter().enumerate() {
            let input = &archive[e.offset..e.offset + e.packed];
            let out = if i % 2 == 1 {
                miniz_oxide::inflate::decompress_to_vec_zlib(input).unwrap_or_else(|_| wasm32::unreachable())
            } else {
                inflate_streaming(input)
            };
            if out.len() != e.size || out != content(e.seed, e.size) {
                wasm32::unreachable();
            }
            sum = sum.wrapping_mul(31).wrapping_add(e.packed as u32 + e.name.len() as u32);
        }
        previous = Some((archive, index));
    }
    sum.wrapping_add(previous.map_or(0, |(a, _)| a.len() as u32))
}
