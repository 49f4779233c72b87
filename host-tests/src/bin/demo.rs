//! The demo: loads `wasm/wasmheap.wasm` in wasmtime, shows what it exports, runs a mixed
//! workload, prints the statistics and `check()`, and measures the fuel (wasm instructions,
//! roughly) that each call costs. Every number printed is measured here, deterministically
//! (a fixed seed of the shared generator, `wasmheap_model::Rng`).

use host_tests::{Heap, Rng, Stats, module, wasm_bytes, wasm_path};
use wasmtime::ExternType;

fn main() {
    let path = std::fs::canonicalize(wasm_path()).unwrap_or_else(|_| wasm_path().into());
    println!("wasmheap demo: {}", path.display());
    println!("module size: {} bytes", wasm_bytes().len());
    println!("exports:");
    for e in module().exports() {
        let ty = match e.ty() {
            ExternType::Func(f) => {
                let list = |v: Vec<String>| v.join(", ");
                let params = list(f.params().map(|t| t.to_string()).collect());
                let results = list(f.results().map(|t| t.to_string()).collect());
                format!("func ({params}) -> ({results})")
            }
            ExternType::Memory(m) => format!(
                "memory, {} page(s) initially{}",
                m.minimum(),
                m.maximum().map_or(String::new(), |x| format!(", at most {x}"))
            ),
            ExternType::Global(g) => format!("global {}", g.content()),
            ExternType::Table(_) => "table".to_string(),
            ExternType::Tag(_) => "tag".to_string(),
        };
        println!("  {:<18} {ty}", e.name());
    }

    workload();
    fuel();
}

/// A few thousand mixed operations: allocate, allocate_aligned, deallocate, reallocate, marks.
fn workload() {
    const OPS: u32 = 5000;
    let mut h = Heap::new();
    let mut rng = Rng::seeded(2024);
    // Live blocks with the number of marks in force when they were allocated (or moved).
    let mut live: Vec<(u32, usize)> = Vec::new();
    let mut marks: Vec<u32> = Vec::new();
    let mut counts = [0u32; 6];
    for _ in 0..OPS {
        let depth = marks.len();
        match rng.below32(100) {
            0..=39 => {
                let p = h.allocate(request(&mut rng));
                if p != 0 {
                    live.push((p, depth));
                }
                counts[0] += 1;
            }
            40..=44 => {
                let p = h.allocate_aligned(request(&mut rng), 1 << rng.below32(13));
                if p != 0 {
                    live.push((p, depth));
                }
                counts[0] += 1;
            }
            45..=74 if !live.is_empty() => {
                let i = rng.index(live.len());
                h.deallocate(live.swap_remove(i).0);
                counts[1] += 1;
            }
            75..=92 if !live.is_empty() => {
                let i = rng.index(live.len());
                let p = live[i].0;
                let q = h.reallocate(p, request(&mut rng));
                if q != 0 && q != p {
                    live[i] = (q, depth); // moved: now belongs to the newest mark
                }
                counts[2] += 1;
            }
            93..=95 if depth < 8 => {
                let m = h.free_get_mark();
                if m != 0 {
                    marks.push(m);
                }
                counts[3] += 1;
            }
            96..=98 if depth > 0 => {
                h.free_to_mark(marks.pop().unwrap());
                live.retain(|&(_, d)| d < depth);
                counts[4] += 1;
            }
            99 => {
                h.deallocate(0x10); // a bad pointer: rejected and counted
                counts[5] += 1;
            }
            _ => {}
        }
    }
    println!();
    println!(
        "workload: {OPS} steps (seed 2024): {} allocate/allocate_aligned, {} deallocate, \
         {} reallocate, {} free_get_mark, {} free_to_mark, {} bad deallocate",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    );
    let s: Stats = h.raw_stats();
    println!("statistics (including the 64-byte block they are written into):");
    print!("{}", s.table());
    println!("memory: {} bytes ({} pages)", h.mem_size(), h.mem_size() / 65536);
    println!("host's count of live blocks: {} (+1 for the statistics block)", live.len());
    println!("check() = {}", h.check());
}

/// Request sizes: mostly small, some medium, a few large.
fn request(rng: &mut Rng) -> u32 {
    match rng.below32(100) {
        0..=69 => rng.below32(129),
        70..=94 => 129 + rng.below32(4000),
        _ => 4096 + rng.below32(60_000),
    }
}

#[derive(Default)]
struct Fuel {
    n: u64,
    total: u64,
    max: u64,
}

impl Fuel {
    fn add(&mut self, f: u64) {
        self.n += 1;
        self.total += f;
        self.max = self.max.max(f);
    }

    fn row(&self, name: &str) {
        let mean = self.total as f64 / self.n.max(1) as f64;
        println!("  {name:<14} {:>7} {:>10.1} {:>8}", self.n, mean, self.max);
    }
}

/// Fuel per call over a random workload of 10^4 calls of each of allocate, deallocate and
/// reallocate (with a few marks mixed in), with up to ~2000 blocks live.
fn fuel() {
    const CALLS: u64 = 10_000;
    let mut h = Heap::new();
    let mut rng = Rng::seeded(0x5EED);
    let mut live: Vec<u32> = Vec::new();
    let (mut alloc, mut dealloc, mut realloc) = (Fuel::default(), Fuel::default(), Fuel::default());
    // reallocate split by outcome; a move copies min(old, new) bytes.
    let (mut in_place, mut moved, mut copied) = (Fuel::default(), Fuel::default(), 0u64);
    let (mut get_mark, mut to_mark) = (Fuel::default(), Fuel::default());
    while alloc.n < CALLS || dealloc.n < CALLS || realloc.n < CALLS {
        let want_alloc = live.len() < 2000 && (live.is_empty() || rng.below32(2) == 0);
        match rng.below32(3) {
            _ if live.is_empty() || (want_alloc && alloc.n < CALLS) => {
                let size = request(&mut rng);
                let (p, f) = h.fuel_of(|h| h.allocate(size));
                assert!(p != 0, "allocate({size}) failed");
                alloc.add(f);
                live.push(p);
            }
            0 | 1 if dealloc.n < CALLS => {
                let p = live.swap_remove(rng.index(live.len()));
                let ((), f) = h.fuel_of(|h| h.deallocate(p));
                dealloc.add(f);
            }
            _ if realloc.n < CALLS => {
                let i = rng.index(live.len());
                let (size, p) = (request(&mut rng), live[i]);
                let old = h.size(p);
                let (q, f) = h.fuel_of(|h| h.reallocate(p, size));
                assert!(q != 0, "reallocate({p:#x}, {size}) failed");
                realloc.add(f);
                if q == p {
                    in_place.add(f);
                } else {
                    moved.add(f);
                    copied += old.min(size) as u64;
                }
                live[i] = q;
            }
            _ => {
                // Everything else is done: drain with deallocate.
                let p = live.swap_remove(rng.index(live.len()));
                h.deallocate(p);
            }
        }
        if rng.below32(500) == 0 {
            // A short-lived arena: allocate a few blocks after a mark and release them at once.
            let (m, f) = h.fuel_of(|h| h.free_get_mark());
            get_mark.add(f);
            for _ in 0..20 {
                h.allocate(request(&mut rng));
            }
            let ((), f) = h.fuel_of(|h| h.free_to_mark(m));
            to_mark.add(f);
        }
    }
    println!();
    println!("fuel per call (wasmtime fuel: about one unit per wasm instruction), seed 0x5EED:");
    println!("  {:<14} {:>7} {:>10} {:>8}", "call", "calls", "mean", "max");
    alloc.row("allocate");
    dealloc.row("deallocate");
    realloc.row("reallocate");
    in_place.row("  in place");
    moved.row("  moved");
    get_mark.row("free_get_mark");
    to_mark.row("free_to_mark");
    println!(
        "(a moved block's contents are copied: {:.0} bytes on average per move)",
        copied as f64 / moved.n.max(1) as f64
    );
    println!("check() = {}", h.check());
}
