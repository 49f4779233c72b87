//! The recorded traces: the allocator calls of real Rust programs (host-tests/bench/recorder*,
//! built to wasm with the peers), each of which logs its `GlobalAlloc` calls to the host through an
//! imported `env.record` (the `recording` crate beside them). [`PROGRAMS`] lists them; each trace
//! also gets a [`Profile`] of its allocation pattern, computed from the trace for the report.

use crate::session::Engines;
use crate::trace::{Builder, FREE, Trace};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;
use wasmtime::{Linker, Module, Store};

/// A recorder program: the trace it makes, its crate (host-tests/bench/`krate`), what it does, and
/// how many rounds of its workload a quick and a full run record.
pub struct Program {
    pub trace: &'static str,
    pub krate: &'static str,
    pub what: &'static str,
    pub rounds: (u32, u32),
}

/// The recorder programs, in the report's order. `scripts/bench` passes each module as
/// `--recorder TRACE=PATH`.
pub const PROGRAMS: [Program; 4] = [
    Program {
        trace: "recorded",
        krate: "recorder",
        what: "write JSON by hand, parse into String/Vec/BTreeMap, index, serialize, re-parse",
        rounds: (8, 100),
    },
    Program {
        trace: "recorded-serde",
        krate: "recorder-serde",
        what: "typed orders (`#[derive(Serialize, Deserialize)]` structs of String, Vec, Option, BTreeMap) to JSON text and back, then through an untyped `serde_json::Value` tree: edit, pretty-print, back to structs",
        rounds: (4, 40),
    },
    Program {
        trace: "recorded-zip",
        krate: "recorder-zip",
        what: "generated files (256 B–96 KiB) deflated at levels 1–9 into a growing archive `Vec<u8>`, then inflated (one-shot, and streamed in 8 KiB chunks) and checked",
        rounds: (16, 160),
    },
    Program {
        trace: "recorded-hashmap",
        krate: "recorder-hashmap",
        what: "word counts of a generated text in a `HashMap<String, u32>`, merged into a long-lived map with eviction; a random graph's adjacency `HashMap<u32, Vec<u32>>` and edge weights, components by BFS with a `HashSet`",
        rounds: (6, 60),
    },
];

pub fn program(trace: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.trace == trace)
}

/// The lock file of the workspace the recorders are built in, read when the runner is compiled:
/// the source of the crate versions in the report.
const LOCK: &str = include_str!("../peers/Cargo.lock");

/// The crates a recorder program depends on directly (but `recording`), with their versions, from
/// the lock file: "serde 1.0.229, serde_json 1.0.154".
pub fn crates_of(krate: &str) -> String {
    let packages: Vec<&str> = LOCK.split("[[package]]").collect();
    let field = |p: &str, key: &str| -> Option<String> {
        p.lines().find_map(|l| l.strip_prefix(&format!("{key} = \""))).map(|v| v.trim_end_matches('"').to_string())
    };
    let version_of = |name: &str| {
        packages
            .iter()
            .find(|p| field(p, "name").as_deref() == Some(name))
            .and_then(|p| field(p, "version"))
            .unwrap_or_else(|| "?".into())
    };
    let Some(me) = packages.iter().find(|p| field(p, "name").as_deref() == Some(krate)) else {
        return "?".into();
    };
    let deps: Vec<String> = me
        .split("dependencies = [")
        .nth(1)
        .map(|d| d.split(']').next().unwrap_or(""))
        .unwrap_or("")
        .split(',')
        .map(|d| d.trim().trim_matches('"').to_string())
        .filter(|d| !d.is_empty() && d != "recording")
        .collect();
    if deps.is_empty() {
        return "core and alloc only".into();
    }
    deps.iter()
        .map(|d| match d.split_once(' ') {
            Some((name, version)) => format!("{name} {version}"),
            None => format!("{d} {}", version_of(d)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a recorder module (`run(rounds)`) and turns its log into the trace `program.trace`.
pub fn record(engines: &Engines, program: &Program, path: &Path, quick: bool) -> Result<Trace> {
    let rounds = if quick { program.rounds.0 } else { program.rounds.1 };
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let module = Module::new(&engines.time, bytes)?;
    let mut linker: Linker<Vec<[u32; 5]>> = Linker::new(&engines.time);
    linker.func_wrap(
        "env",
        "record",
        |mut caller: wasmtime::Caller<'_, Vec<[u32; 5]>>, op: u32, ptr: u32, size: u32, old: u32, align: u32| {
            caller.data_mut().push([op, ptr, size, old, align]);
        },
    )?;
    let mut store = Store::new(&engines.time, Vec::new());
    let inst = linker.instantiate(&mut store, &module)?;
    let run = inst.get_typed_func::<u32, u32>(&mut store, "run")?;
    run.call(&mut store, rounds)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("recorder program {} trapped", program.krate))?;
    let log = std::mem::take(store.data_mut());
    let desc = format!(
        "the GlobalAlloc calls of a Rust program compiled to wasm (host-tests/bench/{}, {}; {rounds} rounds: {})",
        program.krate,
        crates_of(program.krate),
        program.what
    );
    from_recording(&log, program.trace, desc)
}

/// Converts a recorded log of `(op, ptr, size, old_ptr, align)` (op 0 alloc, 1 free, 2 realloc)
/// into a trace. Requests that asked for an alignment above 8 are counted in the description.
pub fn from_recording(log: &[[u32; 5]], name: &'static str, desc: String) -> Result<Trace> {
    let mut b = Builder::new();
    let mut slot_of: HashMap<u32, u32> = HashMap::new();
    let mut over_aligned = 0;
    for &[op, ptr, size, old, align] in log {
        if align > 8 {
            over_aligned += 1;
        }
        match op {
            0 => {
                let slot = b.alloc(size as u64);
                if slot_of.insert(ptr, slot).is_some() {
                    bail!("recorded pointer {ptr:#x} allocated twice");
                }
            }
            1 => {
                let slot = slot_of.remove(&ptr).context("recorded free of an unknown pointer")?;
                b.free(slot);
            }
            2 => {
                let slot = slot_of.remove(&old).context("recorded realloc of an unknown pointer")?;
                b.realloc(slot, size as u64);
                slot_of.insert(ptr, slot);
            }
            _ => bail!("bad recorded op {op}"),
        }
    }
    b.free_all();
    let align_note = if over_aligned > 0 {
        format!("; {over_aligned} requests asked for alignment > 8 and are replayed 8-aligned")
    } else {
        String::new()
    };
    Ok(b.finish(name, format!("{desc}{align_note}")))
}

/// A recorded trace's allocation pattern, computed from its ops.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Requested sizes (of allocs, and the new size of reallocs): median, 90th and 99th
    /// percentile, largest.
    pub sizes: [u64; 4],
    /// Share of those requests in each of [`BUCKETS`].
    pub buckets: Vec<f64>,
    /// Share of the reallocs that ask for more than the block had.
    pub realloc_grows: f64,
    /// Share of the frees that free the newest live block (a stack discipline gives 1).
    pub lifo_frees: f64,
    /// Median lifetime of a block, in ops from its alloc to its free.
    pub median_lifetime: u64,
}

/// Upper bounds (inclusive) of the size buckets of [`Profile::buckets`]; the last is open.
pub const BUCKETS: [(u64, &str); 5] =
    [(64, "≤ 64 B"), (256, "65–256 B"), (4096, "257 B–4 KiB"), (65536, "4–64 KiB"), (u64::MAX, "> 64 KiB")];

pub fn profile(trace: &Trace) -> Profile {
    let mut sizes: Vec<u64> = Vec::new();
    let mut buckets = vec![0u64; BUCKETS.len()];
    let (mut reallocs, mut grows, mut frees, mut lifo) = (0u64, 0u64, 0u64, 0u64);
    let mut lifetimes: Vec<u64> = Vec::new();
    // Per slot: size, the op index of its alloc, and its generation (the stack below holds
    // `(slot, generation)`; entries of freed blocks are skipped lazily).
    let n = trace.slots as usize;
    let (mut size, mut born, mut generation) = (vec![0u64; n], vec![0usize; n], vec![0u32; n]);
    let mut live = vec![false; n];
    let mut stack: Vec<(u32, u32)> = Vec::new();
    for (i, op) in trace.ops.iter().enumerate() {
        let s = op.slot as usize;
        if op.kind == FREE {
            frees += 1;
            while let Some(&(top, g)) = stack.last() {
                if live[top as usize] && generation[top as usize] == g {
                    break;
                }
                stack.pop();
            }
            if stack.last().map(|&(top, _)| top) == Some(op.slot) {
                lifo += 1;
            }
            live[s] = false;
            generation[s] += 1;
            lifetimes.push((i - born[s]) as u64);
            continue;
        }
        let new = op.size as u64;
        sizes.push(new);
        let b = BUCKETS.iter().position(|&(hi, _)| new <= hi).unwrap();
        buckets[b] += 1;
        if op.kind == crate::trace::REALLOC {
            reallocs += 1;
            if new > size[s] {
                grows += 1;
            }
        } else {
            live[s] = true;
            born[s] = i;
            stack.push((op.slot, generation[s]));
        }
        size[s] = new;
    }
    sizes.sort_unstable();
    lifetimes.sort_unstable();
    let pct = |v: &[u64], p: f64| v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);
    let share = |x: u64, of: u64| if of == 0 { 0.0 } else { x as f64 / of as f64 };
    Profile {
        sizes: [pct(&sizes, 0.5), pct(&sizes, 0.9), pct(&sizes, 0.99), sizes.last().copied().unwrap_or(0)],
        buckets: buckets.iter().map(|&c| share(c, sizes.len() as u64)).collect(),
        realloc_grows: share(grows, reallocs),
        lifo_frees: share(lifo, frees),
        median_lifetime: pct(&lifetimes, 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_of_a_small_recording() {
        // alloc A 10, alloc B 100, free B (LIFO), realloc A to 5000, alloc C 70000, free A (not
        // the newest: C is), free C (LIFO).
        let log = [
            [0, 100, 10, 0, 8],
            [0, 200, 100, 0, 8],
            [1, 200, 100, 0, 8],
            [2, 300, 5000, 100, 8],
            [0, 400, 70000, 0, 8],
            [1, 300, 5000, 0, 8],
            [1, 400, 70000, 0, 8],
        ];
        let t = from_recording(&log, "recorded-test", "test".into()).unwrap();
        assert_eq!(t.counts, [3, 3, 1]);
        assert_eq!(t.peak_live_bytes, 75000);
        let p = profile(&t);
        // Requests: 10, 100, 5000, 70000.
        assert_eq!(p.sizes, [5000, 70000, 70000, 70000]);
        assert_eq!(p.buckets, vec![0.25, 0.25, 0.0, 0.25, 0.25]);
        assert_eq!(p.realloc_grows, 1.0);
        assert!((p.lifo_frees - 2.0 / 3.0).abs() < 1e-12);
        // Lifetimes: B 1, A 5, C 2.
        assert_eq!(p.median_lifetime, 2);
    }

    #[test]
    fn every_program_has_its_crates_in_the_lock() {
        for p in &PROGRAMS {
            let c = crates_of(p.krate);
            assert!(!c.contains('?'), "{}: {c}", p.krate);
        }
        assert!(crates_of("recorder-serde").contains("serde_json 1."));
        assert!(crates_of("recorder-zip").contains("miniz_oxide 0."));
        assert!(crates_of("recorder-hashmap").contains("hashbrown 0."));
        assert_eq!(crates_of("recorder"), "core and alloc only");
    }
}
