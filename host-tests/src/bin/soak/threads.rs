//! The threaded mode, for the shared flavor (`wasm/wasmheap-shared.wasm`): `--threads` OS threads
//! (default 4), each with its own `Store` and instance over one `SharedMemory`, run their shares
//! of the seeded random program of `host_tests::shared` (allocate, reallocate, free, aligned, a
//! pattern in every block checked before it is freed or moved, blocks freed by other threads than
//! the ones that allocated them through a shared table, bad input from every thread).
//!
//! The run goes in rounds of [`ROUND`] operations: fresh threads (and instances, which join the
//! heap) each round; after each, `check()` must be 0, every live block must keep its pattern and
//! every statistic must equal the sum of what all threads counted. The calls of each thread are
//! fixed by the seed; how the threads interleave is not, so a run is not replayed on a failure.

use crate::runner::Config;
use host_tests::shared::{Counts, Table, Thread, check_after, memory, on_threads, random_program};
use std::time::Instant;
use wasmtime::Module;

/// Operations of all threads between two checks of the whole heap.
pub const ROUND: u64 = 200_000;
/// Slots of the shared table (at most this many live blocks).
const SLOTS: usize = 2048;

/// Soaks the shared-memory module `module` on `threads` threads: `cfg.ops` operations in all,
/// `cfg.seed`, bad input unless `--no-bad`; prints what it did and returns what the threads
/// counted. `Err` says what went wrong and in which round.
/// O(ops · block size).
pub fn soak_threads(module: &Module, cfg: &Config, threads: usize) -> Result<Counts, String> {
    // 1 GiB at most: the table's blocks need far less (2048 slots, one block in 20 up to 40 KB).
    let memory = memory(16384);
    let table = Table::new(SLOTS);
    let mut total = Counts::default();
    let (mut checks, mut seconds) = (0, 0.0);
    let (mut done, mut round) = (0, 0u64);
    while done < cfg.ops {
        let ops = ROUND.min(cfg.ops - done);
        let seed = cfg.seed.wrapping_add(round << 48);
        let start = Instant::now();
        // Thread i's share: ops / threads, the first ones one more for the remainder.
        let share = |tid: usize| ops / threads as u64 + ((tid as u64) < ops % threads as u64) as u64;
        let counts =
            on_threads(module, &memory, threads, |t, tid| random_program(t, &table, tid, share(tid), seed, cfg.bad))
                .map_err(|e| format!("round {round} (seed {seed:#x}): {e}"))?;
        seconds += start.elapsed().as_secs_f64();
        counts.iter().for_each(|c| total.add(c));
        let mut t = Thread::join(module, &memory, true);
        check_after(&mut t, &table, &total).map_err(|e| format!("after round {round} (seed {seed:#x}): {e}"))?;
        checks += 1;
        done += ops;
        round += 1;
    }
    let c = &total;
    println!(
        "  operations          {:>14}   in {seconds:.1} s: {:.0} ops/s, on {threads} threads",
        c.ops,
        c.ops as f64 / f64::max(seconds, 1e-9)
    );
    println!("  allocations         {:>14}   frees {}, reallocations {}", c.allocations, c.frees, c.reallocations);
    println!(
        "  by another thread   {:>14}   (blocks freed or moved by another thread than their allocator's)",
        c.foreign
    );
    println!("  rejected frees      {:>14}   (double frees and foreign pointers, all rejected)", c.rejected_frees);
    println!("  false accepts       {:>14}   (bad pointers that size() took for live blocks)", c.false_accepts);
    println!(
        "  checks passed       {:>14}   (after each round of up to {ROUND} operations: check(), patterns, statistics); memory {} KiB",
        checks,
        memory.data().len() / 1024
    );
    Ok(total)
}
