//! `cabi_realloc(old_ptr, old_size, align, new_size)` of the C flavor and the import-memory
//! flavor (src/flavors/cabi.rs): the canonical ABI's allocator. It allocates with `old_ptr` 0,
//! resizes a live block keeping its contents, honours every alignment up to 65536, and traps on
//! failure (a bad alignment, a size it cannot serve, a pointer that is not live), the heap left
//! as the refused call leaves it: one counter up, `check()` 0. The component that uses it:
//! tests/component.rs.

mod common;

use common::Call;
use host_tests::{Heap, Instance, Layout, assert_heap_unchanged_but_counter, repo_module};
use wasmtime::{Memory, MemoryType};

fn c_flavor() -> Heap {
    Heap::of(&repo_module("wasm/wasmheap-c.wasm").module, false, 64 << 20)
}

fn cabi(h: &mut Heap, old: u32, old_size: u32, align: u32, size: u32) -> Result<u32, String> {
    h.call_named("cabi_realloc", (old, old_size, align, size))
}

#[test]
fn it_allocates_resizes_and_honours_every_alignment_up_to_64k() {
    let mut h = c_flavor();
    for align in (0..=16).map(|k| 1u32 << k) {
        let p = cabi(&mut h, 0, 0, align, 100).unwrap();
        assert!(p != 0 && p.is_multiple_of(align), "cabi_realloc(0, 0, {align}, 100) = {p:#x}");
        h.fill(p, 100, 0x5A);
        let q = cabi(&mut h, p, 100, align, 70_000).unwrap();
        assert!(q.is_multiple_of(align) && h.size(q) == 70_000, "grown at align {align}: {q:#x}");
        h.assert_filled(q, 100, 0x5A);
        let r = cabi(&mut h, q, 70_000, align, 10).unwrap();
        assert!(r.is_multiple_of(align) && h.size(r) == 10, "shrunk at align {align}: {r:#x}");
        h.assert_filled(r, 10, 0x5A);
        h.deallocate(r);
    }
    // An empty list gets a pointer of its own (the canonical ABI asks for one).
    let e = cabi(&mut h, 0, 0, 4, 0).unwrap();
    assert!(e != 0 && e.is_multiple_of(4));
    let s = h.stats();
    assert_eq!((s.live_blocks, s.failures), (1, 0));
    h.assert_sound();
}

#[test]
fn failures_trap_and_leave_the_heap_as_a_refused_call_does() {
    let mut h = c_flavor();
    let p = cabi(&mut h, 0, 0, 8, 64).unwrap();
    let cases = [
        (0, 3, 8, "an alignment that is not a power of two"),
        (0, 1 << 17, 8, "an alignment above 65536"),
        (0, 8, u32::MAX, "a size above MAX_REQUEST"),
        (0, 8, 1 << 30, "more than memory may grow to (64 MiB here)"),
        (p, 1 << 17, 8, "a resize at a bad alignment"),
        (p + 8, 8, 8, "a pointer that is not live"),
    ];
    for (old, align, size, what) in cases {
        let before = h.raw_stats();
        let snap = h.mem().to_vec();
        let r = cabi(&mut h, old, 64, align, size);
        let e = r.expect_err(what);
        assert!(e.contains("unreachable"), "{what}: not the trap of `unreachable`: {e}");
        assert_heap_unchanged_but_counter(&snap, h.mem(), before.heap_start);
        let after = h.raw_stats();
        let counted = (after.failures - before.failures) + (after.rejected_frees - before.rejected_frees);
        assert_eq!(counted, 1, "{what}: one counter up");
        h.assert_sound();
    }
    assert_eq!(h.size(p), 64, "the live block is untouched");
}

#[test]
fn the_import_memory_flavor_exports_it_and_traps_before_init() {
    let mut store = common::store();
    store.set_fuel(u64::MAX).unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(2, None)).unwrap();
    let module = &repo_module("wasm/wasmheap-import-memory.wasm").module;
    let instance = wasmtime::Instance::new(&mut store, module, &[memory.into()]).expect("instantiate");
    let mut h: Instance = Instance::from_parts(store, instance, memory, Layout::Imported { start: 0 });
    let e = h.try_call::<_, u32>("cabi_realloc", (0u32, 0u32, 8u32, 16u32)).expect_err("no heap before init");
    assert!(e.contains("unreachable"), "{e}");
    assert_eq!(h.call::<_, u32>("init", (0x1000u32, 0u32)), 1);
    let p: u32 = h.call("cabi_realloc", (0u32, 0u32, 4096u32, 3000u32));
    assert!(p != 0 && p.is_multiple_of(4096));
    let q: u32 = h.call("cabi_realloc", (p, 3000u32, 4096u32, 300_000u32));
    assert!(q.is_multiple_of(4096));
    assert!(h.try_call::<_, u32>("cabi_realloc", (q, 0u32, 6u32, 8u32)).is_err());
    assert_eq!(h.call::<_, u32>("check", ()), 0);
}
