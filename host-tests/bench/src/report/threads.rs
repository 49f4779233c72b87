//! The report's section on the shared flavor (`--shared`): the uncontended price of its lock in
//! fuel, and the throughput of Node workers on one heap.

use crate::options::Options;
use crate::results::Results;
use crate::shared::{SCRIPT_NAME, throughput_effort};
use std::fmt::{self, Write};

pub fn section(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    writeln!(w, "## Threads: `wasm/wasmheap-shared.wasm`\n")?;
    let subject = &r.allocs[0].label;
    if !r.shared.is_empty() {
        writeln!(
            w,
            "The uncontended price of the lock: fuel per operation (mean over all calls, replayed op by op from the host as above) of the shared flavor (the checked-in module: the import-memory core, every call between an `i32.atomic.rmw.cmpxchg` and an `i32.atomic.rmw.xchg`, on an instance over a `SharedMemory` after `init(1024, 0)`) against {subject}, on every trace. The issue's target is at most 10 % more.\n"
        )?;
        writeln!(w, "| trace | {subject} | wasmheap-shared | more |\n| --- | ---: | ---: | ---: |")?;
        for (name, pc) in &r.shared {
            let Some(t) = r.traces.iter().find(|t| t.name == *name) else { continue };
            let Some(base) = t.cells[0].per_call.as_ref() else { continue };
            let (a, b) = (base.total() as f64 / base.ops() as f64, pc.total() as f64 / pc.ops() as f64);
            writeln!(w, "| {name} | {a:.1} | {b:.1} | {:+.1} % |", (b / a - 1.0) * 100.0)?;
        }
        writeln!(w)?;
    }
    if let Some(rates) = &r.threads {
        let peers = if opts.threads_peers.is_empty() {
            "No peers ran (scripts/bench builds them with the pinned nightly, which was missing).".to_string()
        } else {
            format!(
                "The peers are Rust programs built with `+atomics` (nightly, `-Z build-std=core,alloc`) over the same shared memory, behind the peers' wrapper, each with its own lock ({}): talc's `TalcLock` over a spin lock, std's wasm allocator (one `dlmalloc::Dlmalloc` behind a swap spin lock, as `library/std/src/sys/alloc/wasm.rs` has it), and wasmheap's `WasmHeap`, which takes its spin lock with `+atomics` (host-tests/bench/peers-threads, peers/wasmheap-global); a first instance in the main thread initialises their statics and allocates each worker's stack.",
                opts.threads_peers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            )
        };
        let (ops, rounds) = throughput_effort(opts.quick);
        writeln!(
            w,
            "Throughput in Node (`{SCRIPT_NAME}`): each worker instantiates the module over one shared memory, joins the heap (`init`, and `set_may_block(1)`: a waiter sleeps in `memory.atomic.wait32` after 64 rounds of spinning; the row (spin only) leaves it out, so a waiter spins for as long as it takes) and, after an untimed warm-up of a quarter as many (at most 10^5: V8 tiers the code up in each worker), makes {ops} random operations of its own from JavaScript (an allocation of 8–256 bytes while it holds fewer than 1000 blocks, 70 % of the time, else a free of one of its blocks; the first word of every block written and checked); the workers start together, and the time runs to the last one's end. Operations per second of all workers together; median and best of {rounds} rounds, each on a fresh memory with fresh workers. {subject} (its own memory, no lock) runs with one worker, as the price of the lock and of the JavaScript calls together. {peers} This machine has 2 cores, shared.\n"
        )?;
        writeln!(w, "| module | workers | ops/s (median) | ops/s (best) |\n| --- | ---: | ---: | ---: |")?;
        for rate in rates {
            writeln!(
                w,
                "| {} | {} | {:.2} M | {:.2} M |",
                rate.name,
                rate.workers,
                rate.median() / 1e6,
                rate.best() / 1e6
            )?;
        }
        writeln!(w)?;
    }
    Ok(())
}
