//! Shared by the client tests: a recorded sequence of calls of the raw ABI, and a handle on any
//! instance that exports the raw ABI (`Raw`), whatever its flavor.
#![allow(dead_code)]

use host_tests::{Heap, XorShift};
use wasmtime::{Instance, Memory, Store, TypedFunc, WasmParams, WasmResults};

/// The raw ABI, as the replay needs it.
pub trait Abi {
    fn allocate(&mut self, size: u32) -> u32;
    fn allocate_aligned(&mut self, size: u32, align: u32) -> u32;
    fn deallocate(&mut self, ptr: u32);
    fn reallocate(&mut self, ptr: u32, size: u32) -> u32;
    fn size(&mut self, ptr: u32) -> u32;
    fn free_get_mark(&mut self) -> u32;
    fn free_to_mark(&mut self, mark: u32);
    fn check(&mut self) -> u32;
    fn fill(&mut self, ptr: u32, len: u32, byte: u8);
}

impl Abi for Heap {
    fn allocate(&mut self, size: u32) -> u32 {
        Heap::allocate(self, size)
    }
    fn allocate_aligned(&mut self, size: u32, align: u32) -> u32 {
        Heap::allocate_aligned(self, size, align)
    }
    fn deallocate(&mut self, ptr: u32) {
        Heap::deallocate(self, ptr)
    }
    fn reallocate(&mut self, ptr: u32, size: u32) -> u32 {
        Heap::reallocate(self, ptr, size)
    }
    fn size(&mut self, ptr: u32) -> u32 {
        Heap::size(self, ptr)
    }
    fn free_get_mark(&mut self) -> u32 {
        Heap::free_get_mark(self)
    }
    fn free_to_mark(&mut self, mark: u32) {
        Heap::free_to_mark(self, mark)
    }
    fn check(&mut self) -> u32 {
        Heap::check(self)
    }
    fn fill(&mut self, ptr: u32, len: u32, byte: u8) {
        Heap::fill(self, ptr, len, byte)
    }
}

/// Any instance with the raw ABI in a store of its own, its memory exported or imported.
pub struct Raw<T: 'static = ()> {
    pub store: Store<T>,
    pub instance: Instance,
    pub memory: Memory,
}

impl<T: 'static> Raw<T> {
    /// Calls export `name`; a trap panics.
    pub fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, args: P) -> R {
        let f: TypedFunc<P, R> = self
            .instance
            .get_typed_func(&mut self.store, name)
            .unwrap_or_else(|e| panic!("export `{name}`: {e}"));
        f.call(&mut self.store, args)
            .unwrap_or_else(|e| panic!("`{name}` trapped: {e:?}"))
    }

    /// Calls export `name`; a trap is an `Err` with its message.
    pub fn try_call<P: WasmParams, R: WasmResults>(&mut self, name: &str, args: P) -> Result<R, String> {
        let f: TypedFunc<P, R> = self
            .instance
            .get_typed_func(&mut self.store, name)
            .unwrap_or_else(|e| panic!("export `{name}`: {e}"));
        f.call(&mut self.store, args).map_err(|e| format!("`{name}` trapped: {e:?}"))
    }

    pub fn mem(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    pub fn mem_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    pub fn read_u32(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem()[at as usize..at as usize + 4].try_into().unwrap())
    }

    /// `stats(out)` into a scratch block that is freed again: the block counts as one live
    /// block of 64 bytes (and one allocation, one free) in what it returns.
    pub fn stats(&mut self) -> host_tests::Stats {
        let out: u32 = self.call("allocate", 64u32);
        assert!(out != 0, "allocate(64) for stats failed");
        self.call::<_, ()>("stats", out);
        let mut w = [0u32; 16];
        for (i, w) in w.iter_mut().enumerate() {
            *w = self.read_u32(out + 4 * i as u32);
        }
        self.call::<_, ()>("deallocate", out);
        host_tests::Stats::from_words(w)
    }
}

impl<T: 'static> Abi for Raw<T> {
    fn allocate(&mut self, size: u32) -> u32 {
        self.call("allocate", size)
    }
    fn allocate_aligned(&mut self, size: u32, align: u32) -> u32 {
        self.call("allocate_aligned", (size, align))
    }
    fn deallocate(&mut self, ptr: u32) {
        self.call("deallocate", ptr)
    }
    fn reallocate(&mut self, ptr: u32, size: u32) -> u32 {
        self.call("reallocate", (ptr, size))
    }
    fn size(&mut self, ptr: u32) -> u32 {
        self.call("size", ptr)
    }
    fn free_get_mark(&mut self) -> u32 {
        self.call("free_get_mark", ())
    }
    fn free_to_mark(&mut self, mark: u32) {
        self.call("free_to_mark", mark)
    }
    fn check(&mut self) -> u32 {
        self.call("check", ())
    }
    fn fill(&mut self, ptr: u32, len: u32, byte: u8) {
        self.mem_mut()[ptr as usize..(ptr + len) as usize].fill(byte)
    }
}

/// One recorded call. Slots name the blocks the sequence holds (64 of them).
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Allocate {
        slot: u32,
        size: u32,
        fill: u8,
    },
    AllocateAligned {
        slot: u32,
        size: u32,
        align: u32,
        fill: u8,
    },
    Deallocate {
        slot: u32,
    },
    Reallocate {
        slot: u32,
        size: u32,
        fill: u8,
    },
    Size {
        slot: u32,
    },
    GetMark,
    ToMark {
        level: u32,
    },
    Check,
}

pub const SLOTS: u32 = 64;

/// A random sequence that is valid for a model of slots and mark levels: slots are only freed or
/// reallocated while live; `ToMark` kills the slots allocated after that mark; `Reallocate` only
/// touches slots of the newest level (a moved block belongs to the newest segment).
pub fn record(seed: u64, len: usize) -> Vec<Op> {
    let mut rng = XorShift::new(seed);
    let mut level: Vec<Option<u32>> = vec![None; SLOTS as usize]; // mark level a live slot was born at
    let mut depth = 0u32;
    let mut ops = Vec::with_capacity(len);
    while ops.len() < len {
        let slot = rng.below(SLOTS);
        let fill = rng.next_u32() as u8;
        let size = match rng.below(10) {
            0 => rng.below(20_000),
            1 => 0,
            _ => rng.below(300),
        };
        let op = match (rng.below(20), level[slot as usize]) {
            (0, _) if depth < 8 => {
                depth += 1;
                Op::GetMark
            }
            (1, _) if depth > 0 => {
                let to = rng.below(depth) + 1;
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
                if rng.below(4) == 0 {
                    let align = 1 << rng.below(13);
                    Op::AllocateAligned {
                        slot,
                        size,
                        align,
                        fill,
                    }
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
pub fn replay_direct(h: &mut impl Abi, ops: &[Op]) -> Vec<u32> {
    let mut slots = [0u32; SLOTS as usize];
    let mut marks = [0u32; 8];
    let mut depth = 0;
    let mut out = Vec::new();
    for &op in ops {
        match op {
            Op::Allocate { slot, size, fill }
            | Op::AllocateAligned {
                slot, size, fill, ..
            } => {
                let p = match op {
                    Op::AllocateAligned { align, .. } => h.allocate_aligned(size, align),
                    _ => h.allocate(size),
                };
                slots[slot as usize] = p;
                out.push(p);
                if p != 0 {
                    h.fill(p, size, fill);
                }
            }
            Op::Deallocate { slot } => {
                h.deallocate(slots[slot as usize]);
                slots[slot as usize] = 0;
            }
            Op::Reallocate { slot, size, fill } => {
                let p = h.reallocate(slots[slot as usize], size);
                out.push(p);
                if p != 0 {
                    slots[slot as usize] = p;
                    h.fill(p, size, fill);
                }
            }
            Op::Size { slot } => out.push(h.size(slots[slot as usize])),
            Op::GetMark => {
                let m = h.free_get_mark();
                marks[depth] = m;
                depth += 1;
                out.push(m);
            }
            Op::ToMark { level } => {
                h.free_to_mark(marks[level as usize - 1]);
                depth = level as usize - 1;
            }
            Op::Check => out.push(h.check()),
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
    matches!(
        op,
        Op::Allocate { .. } | Op::AllocateAligned { .. } | Op::Reallocate { .. }
    )
}
