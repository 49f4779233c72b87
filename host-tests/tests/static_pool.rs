//! The static flavor, `wasm/wasmheap-static.wasm` as shipped (its default 32 KiB pool): a fixed
//! pool inside the module that never executes `memory.grow`. These tests load that file whatever
//! `WASMHEAP_WASM` says; the rest of the suite runs on it too (scripts/test runs it on a build
//! of the same source with a 4 MiB pool: `WASMHEAP_POOL_BYTES=4M`).

use host_tests::{Compiled, Heap, PAGE, has_memory_grow, read_repo_file, repo_module};

/// The pool of the shipped module: the default of `WASMHEAP_POOL_BYTES`.
const POOL: u32 = 32 << 10;

/// The module these tests are about, and its bytes.
fn flavor() -> &'static Compiled {
    repo_module("wasm/wasmheap-static.wasm")
}

/// An instance whose `ResourceLimiter` refuses every `memory.grow`: the cap is the initial memory.
fn pool() -> Heap {
    let mut h = Heap::of(&flavor().module, true, 0);
    h.freeze_growth();
    h
}

/// Allocates `size`-byte blocks, each filled with its index, until the pool is full.
fn fill_up(h: &mut Heap, size: u32) -> Vec<u32> {
    h.fill_up(size, 1 << 16)
}

fn assert_contents(h: &Heap, blocks: &[u32], size: u32) {
    for (i, &p) in blocks.iter().enumerate() {
        h.assert_filled(p, size, i as u8);
    }
}

#[test]
fn the_code_has_no_memory_grow_instruction() {
    assert!(!has_memory_grow(&flavor().bytes), "wasm/wasmheap-static.wasm contains memory.grow");
    // The scan finds the instruction where it is: the default module grows its memory.
    let default = read_repo_file("wasm/wasmheap.wasm");
    assert!(has_memory_grow(&default), "the scan missed memory.grow in wasm/wasmheap.wasm");
}

#[test]
fn the_pool_is_32_kib_inside_the_initial_memory_and_nothing_asks_for_more() {
    let mut h = pool();
    let mem = h.mem_size();
    let s = h.stats();
    assert_eq!(s.heap_bytes, POOL, "pool size (default WASMHEAP_POOL_BYTES)");
    assert_eq!(h.heap_end(), s.heap_start + POOL);
    assert!(s.heap_start % 8 == 0 && s.heap_start + POOL <= mem, "pool outside the initial memory");
    assert_eq!(mem, PAGE, "the module starts with one page: 8 KiB stack and the 32 KiB pool");
    // Every call of the ABI, including running out and the marks' records, never asks.
    let blocks = fill_up(&mut h, 100);
    assert!(h.free_get_mark() != 0 || h.stats().failures > 1);
    h.free_all();
    assert_eq!(h.check(), 0);
    assert_eq!((h.limiter().granted, h.limiter().refused), (0, 0), "memory.grow was executed");
    assert_eq!((h.mem_size(), h.stats().memory_grows), (mem, 0));
    assert!(blocks.len() > 200, "only {} blocks of 100 bytes in 32 KiB", blocks.len());
}

#[test]
fn a_full_pool_returns_0_and_later_calls_succeed_once_blocks_are_freed() {
    let mut h = pool();
    let blocks = fill_up(&mut h, 1000);
    let s = h.stats();
    assert_eq!(s.failures, 1);
    assert!(
        s.live_bytes as usize + 1008 * blocks.len() > (POOL as usize) * 3 / 4,
        "the pool held only {} blocks of 1000 bytes",
        blocks.len()
    );
    // Nothing more fits: every way of asking fails, and changes nothing but the failure count.
    let before = h.stats();
    let first = blocks[0];
    type Call<'a> = (&'a str, &'a dyn Fn(&mut Heap) -> u32);
    let calls: [Call; 3] = [
        ("allocate(1000)", &|h| h.allocate(1000)),
        ("allocate_aligned(1000, 64)", &|h| h.allocate_aligned(1000, 64)),
        ("reallocate(first, 2000)", &|h| h.reallocate(first, 2000)),
    ];
    for (what, call) in calls {
        let snap = h.snapshot();
        assert_eq!(call(&mut h), 0, "{what} in a full pool");
        host_tests::assert_heap_unchanged_but_counter(&snap, &h.snapshot(), before.heap_start);
    }
    assert_eq!(h.stats().failures, before.failures + 3);
    assert_contents(&h, &blocks, 1000);
    h.assert_sound();
    // Freeing makes room again: the freed block is reused, and a larger request fits once its
    // neighbours are free too.
    let victim = blocks[blocks.len() / 2];
    h.deallocate(victim);
    let again = h.allocate(1000);
    assert_eq!(again, victim, "the freed block was not reused");
    h.deallocate(blocks[1]);
    h.deallocate(blocks[2]);
    let bigger = h.allocate(2000);
    assert!(bigger != 0, "two adjacent freed blocks did not make room for 2000 bytes");
    h.assert_sound();
    assert_eq!((h.limiter().granted, h.limiter().refused), (0, 0));
}

#[test]
fn marks_and_free_all_work_on_the_pool() {
    let mut h = pool();
    let keep = h.alloc_filled(500, 0xAB);
    let m = h.free_get_mark();
    assert!(m != 0);
    let first = fill_up(&mut h, 256);
    assert!(!first.is_empty());
    // Back to the mark: the same room again, block for block.
    h.free_to_mark(m);
    assert_eq!(h.size(first[0]), 0, "a block released by free_to_mark is still live");
    let m2 = h.free_get_mark();
    let second = fill_up(&mut h, 256);
    assert_eq!(second, first, "free_to_mark did not give the same room back");
    h.free_to_mark(m2);
    // A floor: free_all releases what came after it, and only that.
    h.free_all_mark();
    let after_floor = fill_up(&mut h, 64);
    assert!(!after_floor.is_empty());
    h.free_all();
    h.assert_filled(keep, 500, 0xAB);
    assert_eq!(h.size(keep), 500);
    assert_eq!(h.stats().live_blocks, 1, "only the block below the floor is live");
    let again = fill_up(&mut h, 64);
    assert_eq!(again.len(), after_floor.len(), "free_all did not give the whole room back");
    h.assert_sound();
    // Stale marks are rejected on the pool as well.
    let rejected = h.stats().rejected_marks;
    h.free_to_mark(m);
    assert_eq!(h.stats().rejected_marks, rejected + 1);
    assert_eq!((h.limiter().granted, h.limiter().refused), (0, 0));
}
