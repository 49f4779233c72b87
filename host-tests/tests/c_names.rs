//! The C names of `wasm/wasmheap-c.wasm` (`malloc`, `free`, `calloc`, `realloc`,
//! `aligned_alloc`, `posix_memalign`), from a WAT client that calls them as a C program compiled to
//! wasm does, and from the host; and the 16-byte alignment C asks of them, in that module and in
//! `wasm/wasmheap-import-memory.wasm`. (A real C program: `c_program.rs`.)

use host_tests::engine;
use std::path::PathBuf;
use wasmtime::{Instance, Linker, Module, Store, TypedFunc, WasmParams, WasmResults};

fn c_wasm() -> PathBuf {
    host_tests::repo_path("wasm/wasmheap-c.wasm")
}

/// A client of the C names, in WAT: what a C program compiled to wasm calls.
const C_CLIENT: &str = r#"
(module
  (import "wasmheap" "memory" (memory 1))
  (import "wasmheap" "malloc" (func $malloc (param i32) (result i32)))
  (import "wasmheap" "free" (func $free (param i32)))
  (import "wasmheap" "calloc" (func $calloc (param i32 i32) (result i32)))
  (import "wasmheap" "realloc" (func $realloc (param i32 i32) (result i32)))
  (import "wasmheap" "aligned_alloc" (func $aligned_alloc (param i32 i32) (result i32)))
  (import "wasmheap" "posix_memalign" (func $posix_memalign (param i32 i32 i32) (result i32)))
  ;; dirty(n) -> ptr: malloc(n) filled with 0xEE, then freed: the next calloc of n reuses it.
  (func (export "dirty") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (call $malloc (local.get $n)))
    (memory.fill (local.get $p) (i32.const 0xEE) (local.get $n))
    (call $free (local.get $p))
    (local.get $p))
  ;; zeros(p, n) -> 1 when n bytes at p are zero
  (func (export "zeros") (param $p i32) (param $n i32) (result i32)
    (local $k i32)
    (block $no
      (loop $bytes
        (br_if $no (i32.ge_u (local.get $k) (local.get $n)))
        (if (i32.load8_u (i32.add (local.get $p) (local.get $k))) (then (return (i32.const 0))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $bytes)))
    (i32.const 1))
  (func (export "calloc") (param i32 i32) (result i32) (call $calloc (local.get 0) (local.get 1)))
  (func (export "realloc") (param i32 i32) (result i32) (call $realloc (local.get 0) (local.get 1)))
  (func (export "free") (param i32) (call $free (local.get 0)))
  (func (export "aligned_alloc") (param i32 i32) (result i32)
    (call $aligned_alloc (local.get 0) (local.get 1)))
  ;; memalign(align, size) -> (errno, ptr): posix_memalign into a malloc'd cell
  (func (export "memalign") (param $align i32) (param $size i32) (result i32 i32)
    (local $cell i32) (local $err i32) (local $p i32)
    (local.set $cell (call $malloc (i32.const 4)))
    (i32.store (local.get $cell) (i32.const 0x77777777))
    (local.set $err (call $posix_memalign (local.get $cell) (local.get $align) (local.get $size)))
    (local.set $p (i32.load (local.get $cell)))
    (call $free (local.get $cell))
    (local.get $err) (local.get $p))
)
"#;

struct CHeap {
    store: Store<()>,
    heap: Instance,
    client: Instance,
}

impl CHeap {
    fn new() -> CHeap {
        let bytes = std::fs::read(c_wasm()).unwrap_or_else(|e| panic!("{}: {e} (scripts/build)", c_wasm().display()));
        let module = Module::new(engine(), bytes).unwrap();
        let mut store = Store::new(engine(), ());
        store.set_fuel(u64::MAX).unwrap();
        let heap = Instance::new(&mut store, &module, &[]).unwrap();
        let mut linker = Linker::new(engine());
        linker.instance(&mut store, "wasmheap", heap).unwrap();
        let client_module = Module::new(engine(), wat::parse_str(C_CLIENT).unwrap()).unwrap();
        let client = linker.instantiate(&mut store, &client_module).unwrap();
        CHeap { store, heap, client }
    }

    fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, args: P) -> R {
        let f: TypedFunc<P, R> = self.client.get_typed_func(&mut self.store, name).unwrap();
        f.call(&mut self.store, args).unwrap()
    }

    fn heap<P: WasmParams, R: WasmResults>(&mut self, name: &str, args: P) -> R {
        let f: TypedFunc<P, R> = self.heap.get_typed_func(&mut self.store, name).unwrap();
        f.call(&mut self.store, args).unwrap()
    }

    fn stats(&mut self) -> host_tests::Stats {
        let out: u32 = self.heap("allocate", 64u32);
        self.heap::<_, ()>("stats", out);
        let mem = self.heap.get_memory(&mut self.store, "memory").unwrap();
        let mut w = [0u32; 16];
        for (i, w) in w.iter_mut().enumerate() {
            let at = out as usize + 4 * i;
            *w = u32::from_le_bytes(mem.data(&self.store)[at..at + 4].try_into().unwrap());
        }
        self.heap::<_, ()>("deallocate", out);
        host_tests::Stats::from_words(w)
    }
}

#[test]
fn the_c_flavor_exports_the_raw_abi_and_the_c_names() {
    let bytes = std::fs::read(c_wasm()).unwrap();
    let module = Module::new(engine(), bytes).unwrap();
    assert_eq!(module.imports().len(), 0);
    for (name, params, results) in host_tests::ABI.iter().chain(&host_tests::C_NAMES).copied() {
        let Some(wasmtime::ExternType::Func(f)) = module.get_export(name) else {
            panic!("`{name}` is not exported as a function")
        };
        assert_eq!((f.params().len(), f.results().len()), (params, results), "`{name}`");
    }
}

#[test]
fn calloc_clears_reused_memory_and_checks_for_overflow() {
    let mut c = CHeap::new();
    for n in [1u32, 7, 64, 1000, 50_000] {
        let dirty: u32 = c.call("dirty", n);
        let p: u32 = c.call("calloc", (1u32, n));
        assert_eq!(p, dirty, "calloc({n}) reuses the freed block");
        assert_eq!(c.call::<_, u32>("zeros", (p, n)), 1, "calloc({n}) left old bytes");
        c.call::<_, ()>("free", p);
        let p: u32 = c.call("calloc", (n, 3u32));
        assert_eq!(c.call::<_, u32>("zeros", (p, 3 * n)), 1);
        c.call::<_, ()>("free", p);
    }
    // A big calloc that grows memory: the fresh pages are zero without clearing.
    let p: u32 = c.call("calloc", (1024u32, 1024u32));
    assert!(p != 0);
    assert_eq!(c.call::<_, u32>("zeros", (p, 1 << 20)), 1);
    assert!(c.stats().memory_grows >= 1);
    c.call::<_, ()>("free", p);
    let failures = c.stats().failures;
    for (n, size) in [(0x1_0000u32, 0x1_0000u32), (u32::MAX, 2), (2, 0x8000_0000), (3, 0x5555_5556)] {
        assert_eq!(c.call::<_, u32>("calloc", (n, size)), 0, "calloc({n:#x}, {size:#x}) overflows");
    }
    let s = c.stats();
    assert_eq!(s.failures, failures + 4, "each overflow is a counted failure");
    assert_eq!(c.heap::<_, u32>("check", ()), 0);
}

#[test]
fn realloc_aligned_alloc_and_posix_memalign_follow_c() {
    let mut c = CHeap::new();
    // realloc(NULL, n) is malloc; contents survive growth.
    let p: u32 = c.call("realloc", (0u32, 10u32));
    assert!(p != 0);
    let q: u32 = c.call("realloc", (p, 100_000u32));
    assert!(q != 0);
    assert_eq!(c.heap::<_, u32>("size", q), 100_000);
    c.call::<_, ()>("free", q);
    // aligned_alloc(align, size): alignment first, as in C.
    for align in [8u32, 64, 4096, 65536] {
        let p: u32 = c.call("aligned_alloc", (align, 24u32));
        assert!(p != 0 && p.is_multiple_of(align), "aligned_alloc({align}, 24) = {p:#x}");
        assert_eq!(c.heap::<_, u32>("size", p), 24);
        c.call::<_, ()>("free", p);
    }
    assert_eq!(c.call::<_, u32>("aligned_alloc", (3u32, 24u32)), 0, "not a power of two");
    // posix_memalign: 0 and the pointer, or EINVAL / ENOMEM (WASI numbers) and *memptr untouched.
    let (err, p): (u32, u32) = c.call("memalign", (256u32, 40u32));
    assert_eq!(err, 0);
    assert!(p != 0 && p % 256 == 0);
    c.call::<_, ()>("free", p);
    for bad in [0u32, 2, 24, 3] {
        let (err, p): (u32, u32) = c.call("memalign", (bad, 40u32));
        assert_eq!((err, p), (28, 0x7777_7777), "posix_memalign(.., {bad}, 40)");
    }
    let (err, p): (u32, u32) = c.call("memalign", (1u32 << 17, 40u32));
    assert_eq!((err, p), (48, 0x7777_7777), "alignment above 64 KiB: ENOMEM");
    assert_eq!(c.heap::<_, u32>("check", ()), 0);
    assert_eq!(c.stats().live_blocks, 1, "nothing but the block `stats` wrote into");
}

/// C requires `malloc`, `calloc` and `realloc` to be aligned to `alignof(max_align_t)`, 16 on
/// wasm32 (wasi-libc's dlmalloc is): both modules with the C names, called as a C program calls
/// them, over a random workload; `realloc` keeps the contents.
#[test]
fn the_c_names_return_16_aligned_blocks_in_both_modules() {
    for name in ["wasm/wasmheap-c.wasm", "wasm/wasmheap-import-memory.wasm"] {
        let mut c = CNames::new(name);
        c.random_workload(3000);
        let check = c.heap.get_typed_func::<(), u32>(&mut c.store, "check").unwrap();
        assert_eq!(check.call(&mut c.store, ()).unwrap(), 0, "{name}");
    }
}

/// `malloc(16 k)` in a loop, as C programs allocate their nodes: each block is 16 k + 16 bytes,
/// the step of wasi-libc's dlmalloc (4 bytes of overhead, chunks of multiples of 16), with no gap
/// between blocks; the memory the loop takes ÷ the bytes it holds is the step's ratio, (16 k + 16)
/// ÷ 16 k. Before C's blocks were sized in multiples of 16 the step was 16 k + 32.
#[test]
fn malloc_of_multiples_of_16_steps_as_dlmalloc_does() {
    const N: u32 = 4000;
    for name in ["wasm/wasmheap-c.wasm", "wasm/wasmheap-import-memory.wasm"] {
        for k in 1..=8u32 {
            let mut c = CNames::new(name);
            let n = 16 * k;
            let first = c.malloc.call(&mut c.store, n).unwrap();
            let mut last = first;
            for i in 1..N {
                let p = c.malloc.call(&mut c.store, n).unwrap();
                assert_eq!(p - last, n + 16, "{name}: malloc({n}) number {i}");
                last = p;
            }
            let span = (last + n) - first;
            let ratio = span as f64 / (N * n) as f64;
            let dlmalloc = (n + 16) as f64 / n as f64;
            assert!(ratio <= dlmalloc * 1.001, "{name}: malloc({n}): memory ÷ live {ratio:.3}, dlmalloc {dlmalloc:.3}");
            // freed blocks are reused as they are, whatever the order
            for i in (0..N).step_by(3) {
                c.free.call(&mut c.store, first + i * (n + 16)).unwrap();
            }
            for _ in (0..N).step_by(3) {
                let p = c.malloc.call(&mut c.store, n).unwrap();
                assert!(p >= first && p <= last && (p - first) % (n + 16) == 0, "{name}: reused {p:#x}");
            }
            let check = c.heap.get_typed_func::<(), u32>(&mut c.store, "check").unwrap();
            assert_eq!(check.call(&mut c.store, ()).unwrap(), 0, "{name}");
        }
    }
}

/// A module's C names, called from the host as a C program calls them, and the blocks it holds:
/// `(ptr, size, tag)`, every byte of the block the tag.
struct CNames {
    name: &'static str,
    store: Store<()>,
    heap: Instance,
    memory: wasmtime::Memory,
    malloc: TypedFunc<u32, u32>,
    calloc: TypedFunc<(u32, u32), u32>,
    realloc: TypedFunc<(u32, u32), u32>,
    free: TypedFunc<u32, ()>,
    blocks: Vec<(u32, u32, u8)>,
}

impl CNames {
    /// The module `name` (the repository's path), instantiated; the import-memory flavor gets a
    /// memory and `init`.
    fn new(name: &'static str) -> CNames {
        let module = Module::from_file(engine(), host_tests::repo_path(name)).unwrap();
        let mut store = Store::new(engine(), ());
        store.set_fuel(u64::MAX).unwrap();
        let (heap, memory) = if module.imports().len() == 0 {
            let heap = Instance::new(&mut store, &module, &[]).unwrap();
            let memory = heap.get_memory(&mut store, "memory").unwrap();
            (heap, memory)
        } else {
            let memory = wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None)).unwrap();
            let heap = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
            let init = heap.get_typed_func::<(u32, u32), u32>(&mut store, "init").unwrap();
            assert_eq!(init.call(&mut store, (1000, 0)).unwrap(), 1, "{name}: init");
            (heap, memory)
        };
        CNames {
            name,
            malloc: heap.get_typed_func(&mut store, "malloc").unwrap(),
            calloc: heap.get_typed_func(&mut store, "calloc").unwrap(),
            realloc: heap.get_typed_func(&mut store, "realloc").unwrap(),
            free: heap.get_typed_func(&mut store, "free").unwrap(),
            store,
            heap,
            memory,
            blocks: Vec::new(),
        }
    }

    /// `steps` random calls: half malloc or calloc, a quarter realloc, a quarter free (the
    /// last two of a random held block). Every block must be 16-aligned and keep its bytes.
    fn random_workload(&mut self, steps: u32) {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for step in 0..steps {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let r = rng;
            let size = (r >> 8) as u32 % if r % 7 == 0 { 5000 } else { 120 };
            let tag = (step % 251) as u8 + 1;
            let held = self.blocks.len();
            match r % 4 {
                0 | 1 => self.allocate(step, size, tag, r % 8 < 4),
                2 if held > 0 => self.reallocate(step, (r >> 32) as usize % held, size, tag),
                _ if held > 0 => self.release(step, (r >> 32) as usize % held),
                _ => {}
            }
        }
    }

    fn allocate(&mut self, step: u32, size: u32, tag: u8, with_malloc: bool) {
        let p = if with_malloc {
            self.malloc.call(&mut self.store, size)
        } else {
            self.calloc.call(&mut self.store, (size, 1))
        };
        let p = p.unwrap();
        assert!(p != 0 && p % 16 == 0, "{} step {step}: {p:#x}", self.name);
        self.memory.data_mut(&mut self.store)[span(p, size)].fill(tag);
        self.blocks.push((p, size, tag));
    }

    fn reallocate(&mut self, step: u32, i: usize, size: u32, tag: u8) {
        let (p, n, old) = self.blocks[i];
        let q = self.realloc.call(&mut self.store, (p, size)).unwrap();
        let name = self.name;
        assert!(q != 0 && q % 16 == 0, "{name} step {step}: realloc to {q:#x}");
        let data = self.memory.data_mut(&mut self.store);
        assert!(data[span(q, n.min(size))].iter().all(|&b| b == old), "{name} step {step}: contents kept");
        data[span(q, size)].fill(tag);
        self.blocks[i] = (q, size, tag);
    }

    fn release(&mut self, step: u32, i: usize) {
        let (p, n, tag) = self.blocks.swap_remove(i);
        assert!(self.memory.data(&self.store)[span(p, n)].iter().all(|&b| b == tag), "{} step {step}", self.name);
        self.free.call(&mut self.store, p).unwrap();
    }
}

/// The bytes of a block in memory.
fn span(p: u32, n: u32) -> std::ops::Range<usize> {
    p as usize..(p + n) as usize
}
