//! A spike of 256 MiB live in a wasmheap instance, freed to 1 MiB, then given back with
//! `discard_free_pages`: the process's resident memory (`/proc/self/statm`) before the spike, at
//! it, after the frees and after the discard; then a second spike, whose contents and `check()`
//! are verified. Twice: blocks freed one by one, and a burst released by `free_to_mark`.
//!
//!     cargo run -p wasmheap-wasmtime --example spike            # a markdown section (scripts/bench)
//!
//! `tests/spike.rs` runs the same code and asserts the figures.
#![allow(dead_code)] // `main` is not used by the test that includes this file

use wasmtime::{Engine, Instance, Memory, Module, Result, Store, TypedFunc, bail};

/// Live bytes at the spike, in blocks of [`BLOCK`] bytes.
pub const SPIKE: u32 = 256 << 20;
pub const BLOCK: u32 = 64 << 10;
/// Live bytes kept after the spike.
pub const KEPT: u32 = 1 << 20;

/// Resident memory of this process, in bytes, at each step.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub before: u64,
    pub spike: u64,
    pub freed: u64,
    pub discarded: u64,
    /// What `discard_free_pages` said it dropped.
    pub dropped: u64,
    pub second_spike: u64,
}

pub fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    // SAFETY: sysconf reads a constant of the system.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

struct Guest {
    store: Store<()>,
    instance: Instance,
    memory: Memory,
    allocate: TypedFunc<u32, u32>,
    deallocate: TypedFunc<u32, ()>,
    check: TypedFunc<(), u32>,
}

impl Guest {
    fn new() -> Result<Guest> {
        let engine = Engine::default();
        let wasm = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wasm/wasmheap.wasm");
        let module = Module::from_file(&engine, wasm)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let memory = instance.get_memory(&mut store, "memory").expect("memory");
        let allocate = instance.get_typed_func(&mut store, "allocate")?;
        let deallocate = instance.get_typed_func(&mut store, "deallocate")?;
        let check = instance.get_typed_func(&mut store, "check")?;
        Ok(Guest { store, instance, memory, allocate, deallocate, check })
    }

    /// `count` blocks of [`BLOCK`] bytes, each filled with a byte of its own (the guest's data:
    /// it makes the pages resident).
    fn burst(&mut self, count: u32, seed: u32) -> Result<Vec<(u32, u8)>> {
        let mut blocks = Vec::new();
        for i in 0..count {
            let p = self.allocate.call(&mut self.store, BLOCK)?;
            if p == 0 {
                bail!("allocate({BLOCK}) failed at block {i}");
            }
            let byte = (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8 + 1;
            self.memory.data_mut(&mut self.store)[p as usize..(p + BLOCK) as usize].fill(byte);
            blocks.push((p, byte));
        }
        Ok(blocks)
    }

    fn verify(&mut self, blocks: &[(u32, u8)]) -> Result<()> {
        let mut want = vec![0u8; BLOCK as usize];
        for &(p, byte) in blocks {
            want.fill(byte);
            if self.memory.data(&self.store)[p as usize..(p + BLOCK) as usize] != want[..] {
                bail!("the block at {p:#x} lost its contents");
            }
        }
        let code = self.check.call(&mut self.store, ())?;
        if code != 0 {
            bail!("check() = {code}");
        }
        Ok(())
    }

    fn call(&mut self, name: &str) -> Result<u32> {
        let f = self.instance.get_typed_func::<(), u32>(&mut self.store, name)?;
        f.call(&mut self.store, ())
    }
}

/// The spike with frees one by one (`marks` false: 1 MiB of the spike's blocks kept, spread
/// over it), or a burst after a mark released by `free_to_mark` (1 MiB allocated before the mark).
pub fn spike(marks: bool) -> Result<Figures> {
    let mut g = Guest::new()?;
    g.check.call(&mut g.store, ())?; // sets the heap up
    let before = resident();
    let count = SPIKE / BLOCK;
    let kept_count = KEPT / BLOCK;
    let (kept, freed) = if marks {
        let kept = g.burst(kept_count, 7)?;
        let mark = g.call("free_get_mark")?;
        let burst = g.burst(count - kept_count, 11)?;
        let spike = resident();
        g.instance.get_typed_func::<u32, ()>(&mut g.store, "free_to_mark")?.call(&mut g.store, mark)?;
        drop(burst);
        (kept, spike)
    } else {
        let all = g.burst(count, 3)?;
        let spike = resident();
        let step = (count / kept_count) as usize;
        let mut kept = Vec::new();
        for (i, &(p, byte)) in all.iter().enumerate() {
            if i % step == step / 2 {
                kept.push((p, byte));
            } else {
                g.deallocate.call(&mut g.store, p)?;
            }
        }
        (kept, spike)
    };
    let spike = freed;
    let freed = resident();
    g.verify(&kept)?;
    let dropped = wasmheap_wasmtime::discard_free_pages(&mut g.store, &g.instance)?;
    let discarded = resident();
    g.verify(&kept)?;
    // A second spike on the pages given back: they come back zero, the heap does not mind.
    let again = g.burst(count - kept_count, 5)?;
    let second_spike = resident();
    g.verify(&again)?;
    g.verify(&kept)?;
    Ok(Figures { before, spike, freed, discarded, dropped, second_spike })
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

/// The figures as a section of BENCHMARKS.md.
pub fn markdown(frees: Figures, marks: Figures) -> String {
    let mut s = String::from(
        "## Memory given back after a spike (wasmtime, `discard_free_pages`)\n\n\
         Resident memory of the whole process (`/proc/self/statm`, MiB) around a spike of 256 MiB \
         live in `wasm/wasmheap.wasm` (64 KiB blocks, filled), freed down to 1 MiB, then \
         `wasmheap_wasmtime::discard_free_pages` (`madvise(MADV_DONTNEED)` on the pages that \
         `discardable` lists), then a second spike that is verified with `check()` \
         (`host-tests/wasmheap-wasmtime/examples/spike.rs`; `tests/spike.rs` asserts the figures).\n\n\
         | frees | before | at the spike | freed | after the discard | dropped | second spike |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (name, f) in [("one by one, 1 MiB kept spread over the spike", frees), ("`free_to_mark` after a burst", marks)]
    {
        s += &format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            mib(f.before),
            mib(f.spike),
            mib(f.freed),
            mib(f.discarded),
            mib(f.dropped),
            mib(f.second_spike)
        );
    }
    s
}

fn main() -> Result<()> {
    let frees = spike(false)?;
    let marks = spike(true)?;
    print!("{}", markdown(frees, marks));
    Ok(())
}
