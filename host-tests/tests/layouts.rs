//! The layout matrix (issue 21, Bug 1): the heap's first call where its start lies at, or just
//! below, the end of the memory that exists.
//!
//! * Rust programs with `wasmheap::WasmHeap` as their `#[global_allocator]`
//!   (host-tests/clients/layouts, built by scripts/test, stage "example clients", into
//!   `$WASMHEAP_EXAMPLES_DIR`): `__heap_base` exactly at the end of the initial memory, 16 bytes
//!   below it (wasm-ld aligns `__heap_base` to 16, so 8 bytes below cannot be linked), 1 KiB below
//!   it and mid-page, each placed by a pad in its bss; and the program of the issue itself (no
//!   data, the defaults). Each runs a workload of `Vec`, `String` and `BTreeMap` on a fresh
//!   instance (its first allocation meets a heap never set up), compared with the same workload
//!   compiled natively, and `check()` must be 0 afterwards. Each test first checks that its program
//!   really sits where its name says: it fails if the placement drifts. And a program on
//!   wasmheap's static pool (feature `static-pool`) whose pool ends exactly at a page end.
//! * `wasm/wasmheap-import-memory.wasm`: `init(start, 0)` with the heap's records (the region's
//!   start, rounded up to 16, plus the 4 KiB stack) at the end of memory (also from a start 8
//!   bytes lower, which rounds up to it), 16 bytes and 1 KiB below it and mid-page, then a
//!   workload through the raw ABI; the same places
//!   as fixed regions `init(start, end)` up to the end of memory, which `init` must refuse (0,
//!   memory untouched, the heap off) while the region cannot hold the heap's records and accept
//!   at mid-page; and `start` itself at those places.

extern crate alloc;

mod common;

#[path = "../clients/layouts/src/workload.rs"]
mod workload;

use common::Call;
use host_tests::{Compiled, Instance, Layout, engine, repo_module};
use std::path::PathBuf;
use wasmtime::{Memory, MemoryType, Module, Store};

const PAGE: u32 = 65536;

fn examples_dir() -> PathBuf {
    std::env::var_os("WASMHEAP_EXAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| host_tests::repo_path("target/examples"))
}

fn program(name: &str) -> Module {
    let path = examples_dir().join("wasm32-unknown-unknown/release/examples").join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nbuild it with scripts/test (stage \"example clients\": the layout matrix \
             needs its calibration pass, a plain cargo build does not place __heap_base)",
            path.display()
        )
    });
    Module::new(engine(), bytes).unwrap()
}

/// A trap in one line: its causes without the wasm backtrace.
fn trap(e: &wasmtime::Error) -> String {
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    if causes.is_empty() { e.to_string() } else { causes.join(": ") }
}

/// A fresh instance of a program of the matrix: its store, instance, `__heap_base` and the end of
/// its initial memory.
fn instantiate(name: &str) -> (Store<()>, wasmtime::Instance, u32, u32) {
    let module = program(name);
    assert_eq!(module.imports().len(), 0, "{name}: the program needs no imports");
    let mut store = Store::new(engine(), ());
    store.set_fuel(u64::MAX).unwrap();
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let heap_base = instance
        .get_global(&mut store, "__heap_base")
        .expect("the program exports __heap_base")
        .get(&mut store)
        .i32()
        .unwrap() as u32;
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let end = memory.data_size(&store) as u32;
    (store, instance, heap_base, end)
}

/// The program's workload for three seeds (with its large vectors when `large`): each
/// checksum equal to the native one, `check()` 0 after each. `place` says where its heap lies,
/// for a trap's message.
fn run_seeds(name: &str, store: &mut Store<()>, instance: &wasmtime::Instance, large: bool, place: &str) {
    let run = instance.get_typed_func::<(u32, u32), u64>(&mut *store, "run").unwrap();
    let check = instance.get_typed_func::<(), u32>(&mut *store, "check").unwrap();
    for seed in 1..=3u32 {
        let got = run
            .call(&mut *store, (seed, 1500))
            .unwrap_or_else(|e| panic!("{name}: run({seed}, 1500) trapped, {place}: {}", trap(&e)));
        assert_eq!(
            got,
            workload::workload(seed, 1500, large),
            "{name}, seed {seed}: the wasm program and the native one disagree"
        );
        assert_eq!(check.call(&mut *store, ()).unwrap(), 0, "{name}, seed {seed}: check()");
    }
}

/// Runs the program `name`, whose `__heap_base` must lie `below` bytes below the end of its initial
/// memory: the workload for three seeds (the first allocation on a fresh heap), each checksum
/// equal to the native one, `check()` 0 after each, and the memory grown by the large vectors.
fn run_placed(name: &str, below: u32) {
    let (mut store, instance, heap_base, end) = instantiate(name);
    let pad = instance.get_typed_func::<(), u32>(&mut store, "pad").unwrap().call(&mut store, ()).unwrap();
    eprintln!(
        "{name}: __heap_base {heap_base} ({heap_base:#x}), initial memory {end} bytes ({} pages), \
         {} bytes below its end; pad {pad} bytes",
        end / PAGE,
        end - heap_base
    );
    // The placement: the point of the test. A pad that drifted (a calibration that went wrong,
    // a toolchain that lays data out differently) fails here rather than testing nothing.
    assert_eq!(
        end - heap_base,
        below,
        "{name}: __heap_base {heap_base:#x} is {} bytes below the end of the initial memory \
         ({end:#x}), not {below}: the pad ({pad} bytes) no longer places it (scripts/test \
         calibrates it)",
        end - heap_base
    );
    let place = format!("__heap_base {heap_base:#x} {below} bytes below the end of memory {end:#x}");
    run_seeds(name, &mut store, &instance, true, &place);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert!(memory.data_size(&store) as u32 >= end + 4 * PAGE, "{name}: the workload's large vectors grew memory");
}

#[test]
fn a_program_whose_heap_base_is_the_end_of_its_initial_memory() {
    run_placed("boundary", 0);
}

#[test]
fn a_program_whose_heap_base_is_16_bytes_below_the_end_of_its_initial_memory() {
    run_placed("below16", 16);
}

#[test]
fn a_program_whose_heap_base_is_1_kib_below_the_end_of_its_initial_memory() {
    run_placed("below1k", 1024);
}

#[test]
fn a_program_whose_heap_base_is_mid_page() {
    run_placed("midpage", PAGE / 2);
}

#[test]
fn the_program_of_issue_21_runs() {
    // The smallest program, built with the defaults: the 1 MiB stack first, then its data (none of
    // its own; wasmheap's statics, if it has any), then `__heap_base`.
    let (mut store, instance, heap_base, end) = instantiate("issue");
    eprintln!("issue: __heap_base {heap_base} ({heap_base:#x}), initial memory {end} bytes ({} pages)", end / PAGE);
    assert!(
        (1 << 20..(1 << 20) + PAGE).contains(&heap_base),
        "the default layout: the 1 MiB stack, then less than a page of data"
    );
    let run = instance.get_typed_func::<u32, u32>(&mut store, "run").unwrap();
    let check = instance.get_typed_func::<(), u32>(&mut store, "check").unwrap();
    // 1 << 20 elements: 4 MiB, which grows memory; the sums wrap as the program's do.
    for n in [1u32, 0, 10, 1000, 100_000, 1 << 20] {
        let got = run.call(&mut store, n).unwrap_or_else(|e| {
            panic!("run({n}) trapped, __heap_base {heap_base:#x}, end of memory {end:#x}: {}", trap(&e))
        });
        let expected = (0..n).fold(0u32, u32::wrapping_add);
        assert_eq!(got, expected, "run({n})");
        assert_eq!(check.call(&mut store, ()).unwrap(), 0, "check() after run({n})");
    }
}

#[test]
fn a_program_on_the_static_pool_whose_pool_ends_at_a_page_end() {
    // wasmheap's feature `static-pool`: the heap is a fixed pool in the program's bss with the
    // heap's records at its start; scripts/test sizes the pool so that it ends at a page end.
    let (mut store, instance, heap_base, end) = instantiate("pool_end");
    let heap_end = instance.get_typed_func::<(), u32>(&mut store, "heap_end").unwrap();
    run_seeds("pool_end", &mut store, &instance, false, &format!("memory {end:#x}"));
    // Asked after the runs: the statistics set the heap up if nothing had.
    let pool_end = heap_end.call(&mut store, ()).unwrap();
    eprintln!(
        "pool_end: the pool ends at {pool_end} ({pool_end:#x}), __heap_base {heap_base:#x}, \
         initial memory {end} bytes ({} pages)",
        end / PAGE
    );
    assert!(
        pool_end % PAGE == 0 && pool_end <= end,
        "pool_end: the pool ends at {pool_end:#x}, not at a page end inside the initial memory \
         ({end:#x}): WASMHEAP_POOL_BYTES no longer places it (scripts/test calibrates it)"
    );
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.data_size(&store) as u32, end, "pool_end: the static pool grew memory");
}

// ---- the import-memory flavor --------------------------------------------------------------------

/// The stack the import-memory flavor keeps at the start of its region (start rounded up to 16).
const STACK: u32 = 4096;
/// What the heap's records take at least (src/flavors/import_memory.rs: "a fixed region too small for
/// the heap's records (1.5 KiB)"): a fixed region with less room must be refused.
const RECORDS: u32 = 1536;
/// Pages of the imported memory.
const PAGES: u32 = 2;
/// The end of that memory.
const END: u32 = PAGES * PAGE;

fn import_memory() -> &'static Compiled {
    repo_module("wasm/wasmheap-import-memory.wasm")
}

/// A fresh instance of the import-memory flavor on a new memory of [`PAGES`] pages, every byte
/// 0x5C; memory may grow to `host_tests::DEFAULT_CAP`.
fn imported() -> Instance {
    let mut store = common::store();
    store.set_fuel(u64::MAX).unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(PAGES, None)).unwrap();
    memory.data_mut(&mut store).fill(0x5C);
    let instance = wasmtime::Instance::new(&mut store, &import_memory().module, &[memory.into()]).expect("instantiate");
    Instance::from_parts(store, instance, memory, Layout::Imported { start: 0 })
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as u32
    }
}

fn byte(id: u32, k: u32) -> u8 {
    (id.wrapping_mul(31).wrapping_add(k.wrapping_mul(7)) & 255) as u8
}

/// A workload through the raw ABI on a heap `init` set up: allocate, reallocate (contents kept),
/// deallocate, a mark and `free_to_mark`, with large blocks when memory may grow; every live block
/// keeps its contents, none overlaps another or leaves `[heap_start, end of memory)`; `check()` is
/// 0 afterwards and after everything is freed. A fixed region (`grows` false) may run out:
/// `allocate` then returns 0 and nothing else changes. The first call is `allocate(24)`, on a heap
/// no call has used yet. An `Err` is a trap or a broken promise.
fn raw_workload(h: &mut Instance, what: &str, heap_start: u32, grows: bool) -> Result<(), String> {
    let pages = h.mem().len() as u32 / PAGE;
    // (ptr, size, id)
    let mut live: Vec<(u32, u32, u32)> = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ heap_start as u64);
    let mut next_id = 1u32;
    let mut failures = 0u32;
    let fill = |h: &mut Instance, p: u32, n: u32, id: u32| {
        let block = &mut h.mem_mut()[p as usize..(p + n) as usize];
        for (k, b) in block.iter_mut().enumerate() {
            *b = byte(id, k as u32);
        }
    };
    let verify = |h: &Instance, live: &[(u32, u32, u32)]| -> Result<(), String> {
        let mem_len = h.mem().len() as u32;
        let mut sorted = live.to_vec();
        sorted.sort();
        for w in sorted.windows(2) {
            if w[0].0 + w[0].1 > w[1].0 {
                return Err(format!("blocks {:#x} and {:#x} overlap", w[0].0, w[1].0));
            }
        }
        for &(p, n, id) in live {
            if p < heap_start || p + n > mem_len {
                return Err(format!("block {p:#x} ({n} bytes) outside the heap"));
            }
            let block = &h.mem()[p as usize..(p + n) as usize];
            if let Some(k) = (0..n).find(|&k| block[k as usize] != byte(id, k)) {
                return Err(format!("block {p:#x} ({n} bytes): byte {k} changed"));
            }
        }
        Ok(())
    };
    let first: u32 = h.try_call("allocate", 24u32)?;
    if first == 0 {
        return Err(format!("{what}: the first allocate(24) returned 0"));
    }
    fill(h, first, 24, 0);
    live.push((first, 24, 0));
    for step in 0..2500u32 {
        match rng.below(10) {
            0..=3 => {
                let n =
                    if grows && rng.below(50) == 0 { 64 * 1024 + rng.below(256 * 1024) } else { 1 + rng.below(600) };
                let p: u32 = h.try_call("allocate", n)?;
                if p == 0 {
                    if grows {
                        return Err(format!("{what}: step {step}: allocate({n}) returned 0"));
                    }
                    failures += 1;
                } else {
                    fill(h, p, n, next_id);
                    live.push((p, n, next_id));
                    next_id += 1;
                }
            }
            4..=6 if !live.is_empty() => {
                let i = rng.below(live.len() as u32) as usize;
                let (p, _, _) = live.swap_remove(i);
                h.try_call::<_, ()>("deallocate", p)?;
            }
            7 | 8 if !live.is_empty() => {
                let i = rng.below(live.len() as u32) as usize;
                let (p, n, id) = live[i];
                let m = 1 + rng.below(if grows { 3000 } else { 800 });
                let q: u32 = h.try_call("reallocate", (p, m))?;
                if q == 0 {
                    if grows {
                        return Err(format!("{what}: step {step}: reallocate({p:#x}, {m}) returned 0"));
                    }
                    failures += 1;
                } else {
                    let keep = n.min(m);
                    let block = &h.mem()[q as usize..(q + keep) as usize];
                    if let Some(k) = (0..keep).find(|&k| block[k as usize] != byte(id, k)) {
                        return Err(format!("{what}: step {step}: reallocate({p:#x}, {m}) -> {q:#x} lost byte {k}"));
                    }
                    fill(h, q, m, id);
                    live[i] = (q, m, id);
                }
            }
            _ => {
                // A mark, a few blocks, free_to_mark: the blocks go, the older ones stay.
                let mark: u32 = h.try_call("free_get_mark", ())?;
                if mark == 0 {
                    if grows {
                        return Err(format!("{what}: step {step}: free_get_mark() returned 0"));
                    }
                    failures += 1;
                    continue;
                }
                let mut temp = Vec::new();
                for _ in 0..rng.below(8) {
                    let p: u32 = h.try_call("allocate", 8 + rng.below(200))?;
                    if p != 0 {
                        temp.push(p);
                    }
                }
                h.try_call::<_, ()>("free_to_mark", mark)?;
                for p in temp {
                    let size: u32 = h.try_call("size", p)?;
                    if size != 0 && !live.iter().any(|b| b.0 == p) {
                        return Err(format!("{what}: step {step}: {p:#x} survived free_to_mark"));
                    }
                }
            }
        }
        if step % 500 == 499 {
            verify(h, &live).map_err(|e| format!("{what}: step {step}: {e}"))?;
        }
    }
    verify(h, &live).map_err(|e| format!("{what}: {e}"))?;
    for &(p, n, _) in &live {
        let size: u32 = h.try_call("size", p)?;
        if size != n {
            return Err(format!("{what}: size({p:#x}) = {size}, not {n}"));
        }
    }
    let code: u32 = h.try_call("check", ())?;
    if code != 0 {
        return Err(format!("{what}: check() = {code} after the workload"));
    }
    for &(p, _, _) in &live {
        h.try_call::<_, ()>("deallocate", p)?;
    }
    let code: u32 = h.try_call("check", ())?;
    if code != 0 {
        return Err(format!("{what}: check() = {code} with every block freed"));
    }
    let s = h.scratch_stats();
    if (s.live_blocks, s.live_bytes) != (1, 64) || s.heap_start != heap_start {
        return Err(format!("{what}: statistics {s:?} (only the stats block, heap at {heap_start:#x})"));
    }
    let grew = h.mem().len() as u32 / PAGE > pages;
    if grows && !grew {
        return Err(format!("{what}: the large blocks did not grow memory"));
    }
    if !grows && grew {
        return Err(format!("{what}: a fixed region grew memory"));
    }
    if !grows && failures == 0 && heap_start + 40 * 1024 < END {
        return Err(format!("{what}: a small fixed region never ran out"));
    }
    Ok(())
}

/// Where the heap's records start for `init(start, _)`: `start` rounded up to 16, then the stack.
fn heap_start_of(start: u32) -> u32 {
    start.div_ceil(16) * 16 + STACK
}

/// The places of the matrix, as how far below the end of memory the heap's records start:
/// (region start, what).
fn placements() -> Vec<(u32, String)> {
    [0u32, 8, 16, 1024, PAGE / 2]
        .into_iter()
        .map(|below| {
            let start = END - STACK - below;
            let what = format!(
                "start {start:#x}: the heap's records at {:#x}, {} bytes below the end of memory {END:#x}",
                heap_start_of(start),
                END - heap_start_of(start)
            );
            (start, what)
        })
        .collect()
}

#[test]
fn import_memory_init_start_0_near_the_end_of_memory_then_a_workload() {
    let mut failed = Vec::new();
    for (start, what) in placements() {
        let what = format!("init({start:#x}, 0), {what}");
        let mut h = imported();
        let ok = match h.try_call::<_, u32>("init", (start, 0u32)) {
            Ok(ok) => ok,
            Err(e) => {
                failed.push(format!("{what}: init trapped: {e}"));
                continue;
            }
        };
        if ok != 1 {
            failed.push(format!("{what}: init returned {ok}"));
            continue;
        }
        let below = &h.mem()[..start as usize];
        if below.iter().any(|&b| b != 0x5C) {
            failed.push(format!("{what}: init wrote below the region"));
        }
        match raw_workload(&mut h, &what, heap_start_of(start), true) {
            Ok(()) => eprintln!("ok: {what}"),
            Err(e) => failed.push(e),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn import_memory_fixed_regions_up_to_the_end_of_memory() {
    let mut failed = Vec::new();
    for (start, what) in placements() {
        let what = format!("init({start:#x}, {END:#x}), {what}");
        let mut h = imported();
        let before = h.mem().to_vec();
        let ok = match h.try_call::<_, u32>("init", (start, END)) {
            Ok(ok) => ok,
            Err(e) => {
                failed.push(format!("{what}: init trapped: {e}"));
                continue;
            }
        };
        let room = END - heap_start_of(start);
        if room < RECORDS {
            // src/flavors/import_memory.rs, wasm/FLAVORS.md section 3: a fixed region too small for the
            // heap's records is refused (0), the heap stays off and memory is untouched.
            if ok != 0 {
                failed.push(format!("{what}: init returned {ok} for {room} bytes of heap, not 0"));
                continue;
            }
            if h.mem() != &before[..] {
                failed.push(format!("{what}: a refused init changed memory"));
            }
            let (p, code): (u32, u32) = (h.call("allocate", 8u32), h.call("check", ()));
            if (p, code) != (0, u32::MAX) {
                failed.push(format!(
                    "{what}: after a refused init allocate(8) = {p:#x}, check() = {code}: the heap is not off"
                ));
            }
            eprintln!("refused: {what}");
        } else if ok != 1 {
            failed.push(format!("{what}: init returned {ok} for {room} bytes of heap"));
        } else {
            match raw_workload(&mut h, &what, heap_start_of(start), false) {
                Ok(()) => eprintln!("ok: {what}"),
                Err(e) => failed.push(e),
            }
            if h.mem()[..start as usize] != before[..start as usize] {
                failed.push(format!("{what}: the heap wrote below its region"));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn import_memory_init_with_start_itself_near_the_end_of_memory() {
    // `start` at the end of memory, 8 bytes and 1 KiB below it, mid-page: where the flavor's own
    // 4 KiB stack does not fit either. Whatever init answers, it never traps and never leaves a
    // half-made heap: 0 with memory untouched and the heap off, or 1 and a heap that works.
    let mut failed = Vec::new();
    for below in [0u32, 8, 1024, PAGE / 2] {
        for end in [0u32, END] {
            let start = END - below;
            let what = format!("init({start:#x}, {end:#x}), start {below} bytes below the end of memory");
            let mut h = imported();
            let before = h.mem().to_vec();
            match h.try_call::<_, u32>("init", (start, end)) {
                Err(e) => failed.push(format!("{what}: init trapped: {e}")),
                Ok(0) => {
                    let (p, code): (u32, u32) = (h.call("allocate", 8u32), h.call("check", ()));
                    if h.mem() != &before[..] || (p, code) != (0, u32::MAX) {
                        failed.push(format!(
                            "{what}: refused, but memory changed or the heap is on (allocate(8) = {p:#x}, check() = {code})"
                        ));
                    } else {
                        eprintln!("refused: {what}");
                    }
                }
                Ok(1) => match raw_workload(&mut h, &what, heap_start_of(start), end == 0) {
                    Ok(()) => eprintln!("ok: {what}"),
                    Err(e) => failed.push(e),
                },
                Ok(other) => failed.push(format!("{what}: init returned {other}")),
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
