//! `wasm/wasmheap-import-memory.wasm`: imports `env.memory`, manages the region that `init(start,
//! end)` names, and owns nothing else in that memory (no data segments, no stack of its own
//! placement). The coexistence tests run it beside a client that has its own data and stack at
//! low addresses (`host-tests/clients/shared_memory_client.wat`) and prove that neither overwrites the
//! other; the negative controls show that those checks fail when one does.

mod common;

use common::{Call, record, replay_direct};
use host_tests::{ABI, C_NAMES, Compiled, Instance, Layout, Stats, engine, repo_module};
use std::sync::OnceLock;
use wasmtime::{ExternType, Linker, Memory, MemoryType, Module};

const PAGE: u32 = 65536;
/// Stack the module reserves at the start of its region (after rounding the start up to 16).
const STACK: u32 = 4096;

/// The module these tests are about, and its bytes.
fn flavor() -> &'static Compiled {
    repo_module("wasm/wasmheap-import-memory.wasm")
}

/// The layout of the import-memory flavor's instances here: each test calls `init` itself, with a
/// start of its own.
const IMPORTED: Layout = Layout::Imported { start: 0 };

/// `check()` is 0.
#[track_caller]
fn assert_sound(h: &mut Instance) {
    assert_eq!(h.call::<_, u32>("check", ()), 0, "check() found the heap broken");
}

/// A fresh instance as [`instance`] makes it, `init(start, end)` called and successful.
#[track_caller]
fn initialised(pages: u32, fill: u8, (start, end): (u32, u32)) -> Instance {
    let mut h = instance(pages, fill);
    assert_eq!(h.call::<_, u32>("init", (start, end)), 1, "init({start:#x}, {end:#x})");
    h
}

/// A fresh instance on a new memory of `pages` pages, every byte `fill`.
fn instance(pages: u32, fill: u8) -> Instance {
    instance_limited(pages, None, fill)
}

/// [`instance`] on a memory that may grow to `maximum` pages at most.
fn instance_limited(pages: u32, maximum: Option<u32>, fill: u8) -> Instance {
    let mut store = common::store();
    store.set_fuel(u64::MAX).unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(pages, maximum)).unwrap();
    memory.data_mut(&mut store).fill(fill);
    let instance = wasmtime::Instance::new(&mut store, &flavor().module, &[memory.into()]).expect("instantiate");
    Instance::from_parts(store, instance, memory, IMPORTED)
}

/// The sections of a wasm binary, as (id, payload).
fn sections(wasm: &[u8]) -> Vec<(u8, &[u8])> {
    assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0");
    let mut at = 8;
    let mut out = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = wasm[at];
            at += 1;
            len |= ((b & 0x7F) as usize) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        out.push((id, &wasm[at..at + len]));
        at += len;
    }
    out
}

#[test]
fn it_imports_only_env_memory_and_has_no_data_no_memory_and_no_stack_of_its_own() {
    let ids: Vec<u8> = sections(&flavor().bytes).iter().map(|s| s.0).collect();
    assert!(!ids.contains(&5), "a memory section: the module defines a memory");
    assert!(!ids.contains(&11), "a data section: the module would write into the host's memory");
    assert!(!ids.contains(&12), "a data count section");
    let m = &flavor().module;
    let imports: Vec<_> = m.imports().map(|i| (i.module().to_string(), i.name().to_string(), i.ty())).collect();
    assert_eq!(imports.len(), 1, "{imports:?}");
    let (module_name, name, ty) = &imports[0];
    assert_eq!((module_name.as_str(), name.as_str()), ("env", "memory"));
    let ExternType::Memory(mem) = ty else { panic!("env.memory is a {ty:?}") };
    assert_eq!(mem.minimum(), 0, "any memory will do");
    assert!(!mem.is_shared() && !mem.is_64());
    for e in m.exports() {
        assert!(matches!(e.ty(), ExternType::Func(_)), "export `{}` is not a function", e.name());
    }
    let mut expected: Vec<(&str, usize, usize)> = ABI.to_vec();
    expected.push(("init", 2, 1));
    expected.extend(C_NAMES);
    assert_eq!(m.exports().len(), expected.len(), "exports: {:?}", m.exports().map(|e| e.name()).collect::<Vec<_>>());
    for (name, params, results) in expected {
        let Some(ExternType::Func(f)) = m.get_export(name) else { panic!("`{name}` missing") };
        assert_eq!((f.params().len(), f.results().len()), (params, results), "`{name}`");
    }
}

#[test]
fn before_init_every_call_does_nothing() {
    let mut h = instance(2, 0x5C);
    let before = h.mem().to_vec();
    assert_eq!(h.call::<_, u32>("allocate", 16u32), 0);
    assert_eq!(h.call::<_, u32>("allocate_aligned", (16u32, 64u32)), 0);
    assert_eq!(h.call::<_, u32>("malloc", 16u32), 0);
    assert_eq!(h.call::<_, u32>("calloc", (4u32, 4u32)), 0);
    assert_eq!(h.call::<_, u32>("reallocate", (0u32, 16u32)), 0);
    assert_eq!(h.call::<_, u32>("size", 0x1000u32), 0);
    assert_eq!(h.call::<_, u32>("free_get_mark", ()), 0);
    assert_eq!(h.call::<_, u32>("posix_memalign", (0x100u32, 16u32, 16u32)), 48, "ENOMEM");
    h.call::<_, ()>("deallocate", 0x1000u32);
    h.call::<_, ()>("free", 0x1000u32);
    h.call::<_, ()>("free_to_mark", 0x101u32);
    h.call::<_, ()>("free_all", ());
    h.call::<_, ()>("free_all_mark", ());
    assert_eq!(h.call::<_, u32>("check", ()), u32::MAX, "no heap yet");
    assert!(h.mem() == &before[..], "a call before init wrote to memory");
    // stats writes where it is told: all zero.
    h.call::<_, ()>("stats", 0x200u32);
    assert!(h.mem()[0x200..0x240].iter().all(|&b| b == 0));
    assert!(h.mem()[..0x200] == before[..0x200] && h.mem()[0x240..] == before[0x240..]);
}

#[test]
fn init_refuses_bad_regions_and_leaves_memory_alone() {
    let mut h = instance(2, 0x5C);
    let before = h.mem().to_vec();
    for (start, end, why) in [
        (0x1000u32, 0x1000 + STACK + 1024, "too small for the heap's records"),
        (0x1000, 3 * PAGE, "end past the end of memory"),
        (3 * PAGE, 0, "start past the end of memory"),
        (0x4000, 0x2000, "end before start"),
        (0xFFFF_F000, 0, "start + 4 KiB wraps"),
        (u32::MAX, 0, "start rounds up past 4 GiB"),
    ] {
        assert_eq!(h.call::<_, u32>("init", (start, end)), 0, "init({start:#x}, {end:#x}): {why}");
        assert!(h.mem() == &before[..], "init({start:#x}, {end:#x}) wrote to memory");
        assert_eq!(h.call::<_, u32>("allocate", 8u32), 0, "after a refused init the heap is off");
    }
    assert_eq!(h.mem().len(), 2 * PAGE as usize, "memory did not grow");
}

#[test]
fn a_start_near_the_end_of_memory_grows_it_for_the_stack_and_the_records() {
    // A C program whose data ends in the last 4 KiB of memory: `init(&__heap_base, 0)`.
    for start in [2 * PAGE - 100, 2 * PAGE - 8, 2 * PAGE] {
        let mut h = instance(2, 0x5C);
        assert_eq!(h.call::<_, u32>("init", (start, 0u32)), 1, "init({start:#x}, 0)");
        assert!(h.mem().len() > 2 * PAGE as usize, "memory grew");
        let p = h.call::<_, u32>("allocate", 100u32);
        assert!(p > start + STACK && p % 16 == 0, "init({start:#x}, 0): allocate(100) = {p:#x}");
        h.call::<_, ()>("deallocate", p);
        assert_eq!(h.call::<_, u32>("check", ()), 0);
    }
    // where memory cannot grow (its maximum is 2 pages), it is refused, with nothing written
    let mut h = instance_limited(2, Some(2), 0x5C);
    let before = h.mem().to_vec();
    assert_eq!(h.call::<_, u32>("init", (2 * PAGE - 100, 0u32)), 0);
    assert!(h.mem() == &before[..], "a refused init wrote to memory");
}

#[test]
fn a_fixed_region_is_all_that_the_heap_touches_and_memory_never_grows() {
    let mut h = instance(4, 0x5C);
    let (start, end) = (0x8003u32, 0x8003 + 3 * PAGE / 2);
    assert_eq!(h.call::<_, u32>("init", (start, end)), 1);
    let heap_start = start.div_ceil(16) * 16 + STACK;
    let s = h.scratch_stats();
    // The start rounds up to 16 (then the 4 KiB stack), the end down to 8.
    assert_eq!((s.heap_start, s.heap_bytes), (heap_start, (end & !7) - heap_start));
    // Fill the heap until it refuses, with blocks of every size.
    let mut blocks = Vec::new();
    let mut n = 1u32;
    loop {
        let p: u32 = h.call("allocate", n);
        if p == 0 {
            break;
        }
        h.mem_mut()[p as usize..(p + n) as usize].fill(n as u8);
        blocks.push((p, n));
        n = n % 3000 + 7;
    }
    let s = h.scratch_stats();
    assert!(s.failures >= 1 && s.memory_grows == 0, "{s:?}");
    assert!(s.heap_top <= end);
    assert_eq!(h.mem().len(), 4 * PAGE as usize, "memory grew");
    let mem = h.mem();
    assert!(mem[..start as usize].iter().all(|&b| b == 0x5C), "below the region");
    assert!(mem[end as usize..].iter().all(|&b| b == 0x5C), "above the region");
    for &(p, n) in &blocks {
        assert!(mem[p as usize..(p + n) as usize].iter().all(|&b| b == n as u8), "block {p:#x}");
    }
    assert_sound(&mut h);
    for &(p, _) in &blocks {
        h.call::<_, ()>("free", p);
    }
    let s = h.scratch_stats();
    assert_eq!((s.live_blocks, s.live_bytes), (1, 64), "only the stats block");
    assert_sound(&mut h);
}

#[test]
fn init_with_end_zero_takes_memory_to_its_end_and_grows_it() {
    let mut h = initialised(1, 0x5C, (0x4000u32, 0u32));
    let p: u32 = h.call("allocate", 300_000u32);
    assert!(p != 0);
    let s = h.scratch_stats();
    assert!(s.memory_grows >= 1 && h.mem().len() >= 0x5000 + 300_000, "{s:?}");
    assert_eq!(s.heap_bytes, h.mem().len() as u32 - 0x5000);
    assert!(h.mem()[..0x4000].iter().all(|&b| b == 0x5C), "below the region");
    // calloc from fresh pages and from reused memory is zero.
    h.call::<_, ()>("free", p);
    let q: u32 = h.call("calloc", (1000u32, 300u32));
    assert!(h.mem()[q as usize..q as usize + 300_000].iter().all(|&b| b == 0));
    assert_sound(&mut h);
}

#[test]
fn init_again_starts_an_empty_heap() {
    let mut h = initialised(4, 0, (0x1000u32, 0x20000u32));
    let p: u32 = h.call("allocate", 100u32);
    let m: u32 = h.call("free_get_mark", ());
    assert!(p != 0 && m != 0);
    assert_eq!(h.call::<_, u32>("init", (0x1000u32, 0x20000u32)), 1);
    assert_eq!(h.call::<_, u32>("size", p), 0, "the old block is forgotten");
    let s = h.scratch_stats();
    assert_eq!((s.live_blocks, s.mark_depth, s.allocations), (1, 0, 1), "only the stats block");
    // Another region: the heap and its stack move there.
    assert_eq!(h.call::<_, u32>("init", (0x30000u32, 0u32)), 1);
    assert_eq!(h.scratch_stats().heap_start, 0x30000 + STACK);
    assert_sound(&mut h);
}

#[test]
fn it_behaves_exactly_as_the_default_module_moved_up() {
    // The default module's heap starts at HS with 64 KiB of memory. Give the import-memory flavor
    // a region whose heap starts at HS + 2 pages, with memory ending 2 pages higher too: the
    // same calls must give the same results, every pointer 2 pages higher.
    let default_bytes = std::fs::read(host_tests::repo_path("wasm/wasmheap.wasm")).unwrap();
    let default_module = Module::new(engine(), default_bytes).unwrap();
    for seed in [11u64, 12, 13] {
        let mut store = common::store();
        store.set_fuel(u64::MAX).unwrap();
        let default = wasmtime::Instance::new(&mut store, &default_module, &[]).unwrap();
        let memory = default.get_memory(&mut store, "memory").unwrap();
        let mut d = Instance::from_parts(store, default, memory, Layout::Own);
        let hs = d.scratch_stats().heap_start;
        let shift = 2 * PAGE;
        let mut h = initialised(3, 0xEE, (hs + shift - STACK, 0u32));
        assert_eq!(h.scratch_stats().heap_start, hs + shift);

        let ops = record(seed, 3000);
        let a = replay_direct(&mut d, &ops);
        let b = replay_direct(&mut h, &ops);
        assert_eq!(a.len(), b.len());
        for (i, (op, (x, y))) in ops.iter().filter(|op| common::records(op)).zip(a.iter().zip(&b)).enumerate() {
            let expected = if common::returns_pointer(op) && *x != 0 { x + shift } else { *x };
            assert_eq!(*y, expected, "seed {seed}: result {i} of {op:?}");
        }
        let (sd, sh) = (d.scratch_stats(), h.scratch_stats());
        let moved = Stats { heap_start: sd.heap_start + shift, heap_top: sd.heap_top + shift, ..sd };
        assert_eq!(sh, moved, "seed {seed}: statistics");
        assert!(sd.memory_grows >= 1, "seed {seed}: the sequence grows memory");
        assert_eq!(h.mem().len(), d.mem().len() + shift as usize);
        assert_eq!((d.call::<_, u32>("check", ()), h.call::<_, u32>("check", ())), (0, 0));
    }
}

// ---- coexistence with a client that has its own data and stack ----------------------------------

/// The client's layout (host-tests/clients/shared_memory_client.wat).
const TABLE: u32 = 0;
const SLOTS: u32 = 128;
const DATA: std::ops::Range<u32> = 0x400..0x1400;
const CLIENT_STACK: std::ops::Range<u32> = 0x1400..0x5400;
const REGION: u32 = 0x5400;

fn data_byte(j: u32) -> u8 {
    (j.wrapping_mul(37).wrapping_add(11) & 255) as u8
}

fn client_module() -> &'static Module {
    static M: OnceLock<Module> = OnceLock::new();
    M.get_or_init(|| {
        let path = host_tests::repo_path("host-tests/clients/shared_memory_client.wat");
        Module::new(engine(), wat::parse_file(path).unwrap()).unwrap()
    })
}

struct Pair {
    heap: Instance,
    client: wasmtime::Instance,
}

/// Memory of `pages` pages, the client's stack area 0xA5, the rest 0x3C; both instances on it.
fn pair(pages: u32) -> Pair {
    let mut store = common::store();
    store.set_fuel(u64::MAX).unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(pages, None)).unwrap();
    memory.data_mut(&mut store).fill(0x3C);
    memory.data_mut(&mut store)[..DATA.start as usize].fill(0);
    memory.data_mut(&mut store)[CLIENT_STACK.start as usize..CLIENT_STACK.end as usize].fill(0xA5);
    let heap = wasmtime::Instance::new(&mut store, &flavor().module, &[memory.into()]).unwrap();
    let mut linker = Linker::new(engine());
    linker.define(&mut store, "env", "memory", memory).unwrap();
    linker.instance(&mut store, "wasmheap", heap).unwrap();
    let client = linker.instantiate(&mut store, client_module()).unwrap();
    Pair { heap: Instance::from_parts(store, heap, memory, IMPORTED), client }
}

impl Pair {
    fn client<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
        args: P,
    ) -> wasmtime::Result<R> {
        let f = self.client.get_typed_func::<P, R>(&mut self.heap.store, name)?;
        // A heap corrupted by a negative control may loop: the budget turns that into a trap.
        self.heap.store.set_fuel(1 << 34)?;
        f.call(&mut self.heap.store, args)
    }
}

/// What a clean run measured.
#[derive(Debug)]
struct Report {
    live: u32,
    /// Deepest byte of its 4 KiB stack that the heap's code wrote.
    heap_stack_used: u32,
}

/// Gives the heap the region [start, end) (end 0: to the end of memory), runs `churn`, lets
/// `sabotage` do its worst, then checks that neither side wrote over the other: the client's
/// data and stack areas are exactly as they were, memory past a fixed region's end too, every
/// block the client holds is inside the heap, disjoint from the others, of its size and with its
/// contents, the statistics agree with the client's table, and `check()` is 0.
fn coexist(
    pages: u32,
    start: u32,
    end: u32,
    seed: u32,
    steps: u32,
    sabotage: impl FnOnce(&mut Pair),
) -> Result<Report, String> {
    let mut p = pair(pages);
    let ok: u32 = p.client("setup", (start, end)).map_err(|e| format!("setup trapped: {e}"))?;
    if ok != 1 {
        return Err(format!("setup({start:#x}, {end:#x}) = {ok}"));
    }
    let stack_base = start.div_ceil(16) * 16;
    let heap_start = stack_base + STACK;
    let above_end = (end != 0).then(|| p.heap.mem()[end as usize..].to_vec());
    let result: u32 = p.client("churn", (seed, steps)).map_err(|e| format!("churn trapped: {e}"))?;
    if result != 0 {
        return Err(format!("the client's own checks failed at step {}: kind {}", result >> 4, result & 15));
    }
    sabotage(&mut p);

    let mem = p.heap.mem();
    if let Some(j) = DATA.clone().find(|&a| mem[a as usize] != data_byte(a - DATA.start)) {
        return Err(format!("the client's data was overwritten at {j:#x}"));
    }
    if let Some(a) = CLIENT_STACK.clone().find(|&a| mem[a as usize] != 0xA5) {
        return Err(format!("the client's stack area was overwritten at {a:#x}"));
    }
    if let Some(above) = above_end
        && (mem.len() != above.len() + end as usize || mem[end as usize..] != above[..])
    {
        return Err("memory past the end of the fixed region changed (or grew)".into());
    }
    let heap_stack_used = (stack_base..heap_start).find(|&a| mem[a as usize] != 0x3C).map_or(0, |a| heap_start - a);

    let mut blocks = Vec::new();
    for slot in 0..SLOTS {
        let (ptr, size) = (p.heap.read_u32(TABLE + 8 * slot), p.heap.read_u32(TABLE + 8 * slot + 4));
        if ptr != 0 {
            blocks.push((ptr, size, slot));
        }
    }
    let mem_len = p.heap.mem().len() as u32;
    for &(ptr, size, slot) in &blocks {
        if ptr < heap_start || ptr.checked_add(size).is_none_or(|e| e > mem_len) {
            return Err(format!("block {ptr:#x} ({size} bytes) lies outside the heap"));
        }
        // With the heap's own memory overwritten (the sabotage cases), validation may read a
        // wild offset and trap: that is a detection too (CONTRACT.md, "Undefined").
        let got: u32 = p.heap.try_call("size", ptr)?;
        if got != size {
            return Err(format!("size({ptr:#x}) = {got}, the client asked for {size}"));
        }
        let bytes = &p.heap.mem()[ptr as usize..(ptr + size) as usize];
        let expected = |k: u32| {
            (slot.wrapping_mul(29).wrapping_add(size.wrapping_mul(7)).wrapping_add(k.wrapping_mul(13)) & 255) as u8
        };
        if let Some(k) = (0..size).find(|&k| bytes[k as usize] != expected(k)) {
            return Err(format!("block {ptr:#x} of slot {slot}: byte {k} changed"));
        }
    }
    blocks.sort();
    for w in blocks.windows(2) {
        if w[0].0 + w[0].1 > w[1].0 {
            return Err(format!("blocks {:#x} and {:#x} overlap", w[0].0, w[1].0));
        }
    }
    let code: u32 = p.heap.call("check", ());
    if code != 0 {
        return Err(format!("check() = {code}"));
    }
    let s = p.heap.scratch_stats();
    let live_bytes: u32 = blocks.iter().map(|b| b.1).sum();
    if (s.live_blocks, s.live_bytes) != (blocks.len() as u32 + 1, live_bytes + 64) {
        return Err(format!("statistics {s:?} disagree with the client's {} blocks", blocks.len()));
    }
    if s.heap_start != heap_start {
        return Err(format!("heap_start {:#x}, expected {heap_start:#x}", s.heap_start));
    }
    Ok(Report { live: blocks.len() as u32, heap_stack_used })
}

#[test]
fn a_client_with_its_own_data_and_stack_and_the_heap_leave_each_other_alone() {
    for seed in [1u32, 2, 3] {
        let r = coexist(1, REGION, 0, seed, 3000, |_| {}).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(r.live > 20, "seed {seed}: {r:?}");
        assert!(r.heap_stack_used > 0 && r.heap_stack_used <= 512, "the heap's stack use: {r:?}");
        eprintln!("seed {seed}: {r:?}");
    }
}

#[test]
fn a_client_and_a_fixed_region_below_its_own_memory_top_leave_each_other_alone() {
    // 4 MiB of memory, the heap gets 1 MiB of it: out-of-memory happens, memory never grows, and
    // the 3 MiB above the region stay as they were.
    for seed in [4u32, 5] {
        let r =
            coexist(64, REGION, REGION + (1 << 20), seed, 3000, |_| {}).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(r.live > 20, "seed {seed}: {r:?}");
    }
}

#[test]
fn the_coexistence_check_fails_when_the_heap_overlaps_the_clients_stack() {
    // The region starts inside the client's stack: the heap's records and blocks sit where the
    // client's frames go.
    let err = coexist(1, 0x3400, 0, 1, 3000, |_| {}).expect_err("an overlap must be caught");
    eprintln!("caught: {err}");
}

#[test]
fn the_coexistence_check_fails_when_the_heap_overlaps_the_clients_data() {
    let err = coexist(1, 0x0800, 0, 2, 3000, |_| {}).expect_err("an overlap must be caught");
    eprintln!("caught: {err}");
}

#[test]
fn the_coexistence_check_fails_when_the_client_writes_into_the_heap() {
    // The client's stack overflows 256 bytes into the region, over the heap's own stack and then
    // its root: as if its frames went deeper than the 16 KiB it planned.
    let err = coexist(1, REGION, 0, 3, 3000, |p| {
        let at = REGION as usize + STACK as usize;
        p.heap.mem_mut()[at..at + 256].fill(0xA5);
    })
    .expect_err("a foreign write into the heap must be caught");
    eprintln!("caught: {err}");
    // A single changed byte in a block is caught too.
    let err = coexist(1, REGION, 0, 3, 3000, |p| {
        let ptr = (0..SLOTS).map(|s| p.heap.read_u32(8 * s)).find(|&ptr| ptr != 0).unwrap();
        p.heap.mem_mut()[ptr as usize] ^= 1;
    })
    .expect_err("a changed byte must be caught");
    eprintln!("caught: {err}");
}
