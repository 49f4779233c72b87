//! Shared by the client tests: a recorded sequence of calls of the raw ABI, replayed on any
//! [`Instance`] that exports it (a `Heap` dereferences to one), and calls by name ([`Call`]).
#![allow(dead_code)]

use host_tests::{Args, DEFAULT_CAP, Instance, Limiter, Rng, State, Stats};
use wasmtime::{Store, WasmResults};

/// Calls by name on an [`Instance`] made by a test for a set-up of its own (an imported memory,
/// a client linked to it, the tiny flavor).
pub trait Call {
    /// Calls export `name`; a trap panics.
    fn call<P: Args, R: WasmResults>(&mut self, name: &str, args: P) -> R;
    /// Calls export `name`; a trap is an `Err` with its message.
    fn try_call<P: Args, R: WasmResults>(&mut self, name: &str, args: P) -> Result<R, String>;
    /// `stats(out)` into a scratch block that is freed again: the block counts as one live
    /// block of 64 bytes (and one allocation, one free) in what it returns.
    fn scratch_stats(&mut self) -> Stats;
}

impl<H> Call for Instance<H> {
    fn call<P: Args, R: WasmResults>(&mut self, name: &str, args: P) -> R {
        self.call_named(name, args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_call<P: Args, R: WasmResults>(&mut self, name: &str, args: P) -> Result<R, String> {
        self.call_named(name, args)
    }

    fn scratch_stats(&mut self) -> Stats {
        let out: u32 = self.call("allocate", 64u32);
        assert!(out != 0, "allocate(64) for stats failed");
        let s = self.try_stats(out).unwrap_or_else(|e| panic!("{e}"));
        self.call::<_, ()>("deallocate", out);
        s
    }
}

/// A store for a test's own set-up: memory may grow up to [`DEFAULT_CAP`].
pub fn store() -> Store<State> {
    Instance::store(Limiter::new(DEFAULT_CAP, Rng::seeded(0)))
}

/// One recorded call. Slots name the blocks the sequence holds (64 of them).
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Allocate { slot: u32, size: u32, fill: u8 },
    AllocateAligned { slot: u32, size: u32, align: u32, fill: u8 },
    Deallocate { slot: u32 },
    Reallocate { slot: u32, size: u32, fill: u8 },
    Size { slot: u32 },
    GetMark,
    ToMark { level: u32 },
    Check,
}

pub const SLOTS: u32 = 64;

/// A random sequence that is valid for a model of slots and mark levels: slots are only freed or
/// reallocated while live; `ToMark` kills the slots allocated after that mark; `Reallocate` only
/// touches slots of the newest level (a moved block belongs to the newest segment).
pub fn record(seed: u64, len: usize) -> Vec<Op> {
    let mut rng = Rng::seeded(seed);
    let mut level: Vec<Option<u32>> = vec![None; SLOTS as usize]; // mark level a live slot was born at
    let mut depth = 0u32;
    let mut ops = Vec::with_capacity(len);
    while ops.len() < len {
        let slot = rng.below32(SLOTS);
        let fill = rng.u32() as u8;
        let size = match rng.below32(10) {
            0 => rng.below32(20_000),
            1 => 0,
            _ => rng.below32(300),
        };
        let op = match (rng.below32(20), level[slot as usize]) {
            (0, _) if depth < 8 => {
                depth += 1;
                Op::GetMark
            }
            (1, _) if depth > 0 => {
                let to = rng.below32(depth) + 1;
                for l in &mut level {
                    if l.is_some_and(|born| born >= to) {
                        *l = None;
                    }
                }
                depth = to - 1;
                Op::ToMark { level: to }
            }
            (2, _) => Op::Check,
            (_, None) => {
                level[slot as usize] = Some(depth);
                if rng.below32(4) == 0 {
                    let align = 1 << rng.below32(13);
                    Op::AllocateAligned { slot, size, align, fill }
                } else {
                    Op::Allocate { slot, size, fill }
                }
            }
            (3..=8, Some(_)) => {
                level[slot as usize] = None;
                Op::Deallocate { slot }
            }
            (9..=13, Some(born)) if born == depth => Op::Reallocate { slot, size, fill },
            (_, Some(_)) => Op::Size { slot },
        };
        ops.push(op);
    }
    ops
}

/// The same calls made directly from the host; returns what `replay` records.
pub fn replay_direct<H>(h: &mut Instance<H>, ops: &[Op]) -> Vec<u32> {
    let mut slots = [0u32; SLOTS as usize];
    let mut marks = [0u32; 8];
    let mut depth = 0;
    let mut out = Vec::new();
    for &op in ops {
        match op {
            Op::Allocate { slot, size, fill } | Op::AllocateAligned { slot, size, fill, .. } => {
                let p: u32 = match op {
                    Op::AllocateAligned { align, .. } => h.call("allocate_aligned", (size, align)),
                    _ => h.call("allocate", size),
                };
                slots[slot as usize] = p;
                out.push(p);
                if p != 0 {
                    h.fill(p, size, fill);
                }
            }
            Op::Deallocate { slot } => {
                h.call::<_, ()>("deallocate", slots[slot as usize]);
                slots[slot as usize] = 0;
            }
            Op::Reallocate { slot, size, fill } => {
                let p: u32 = h.call("reallocate", (slots[slot as usize], size));
                out.push(p);
                if p != 0 {
                    slots[slot as usize] = p;
                    h.fill(p, size, fill);
                }
            }
            Op::Size { slot } => out.push(h.call("size", slots[slot as usize])),
            Op::GetMark => {
                let m: u32 = h.call("free_get_mark", ());
                marks[depth] = m;
                depth += 1;
                out.push(m);
            }
            Op::ToMark { level } => {
                h.call::<_, ()>("free_to_mark", marks[level as usize - 1]);
                depth = level as usize - 1;
            }
            Op::Check => out.push(h.call("check", ())),
        }
    }
    out
}

/// Whether `replay_direct` (and the generated client) record a result for `op`.
pub fn records(op: &Op) -> bool {
    !matches!(op, Op::Deallocate { .. } | Op::ToMark { .. })
}

/// Whether the result recorded for `op` is a pointer.
pub fn returns_pointer(op: &Op) -> bool {
    matches!(op, Op::Allocate { .. } | Op::AllocateAligned { .. } | Op::Reallocate { .. })
}
