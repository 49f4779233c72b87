//! The C names (feature `c-api`): `malloc`, `free`, `calloc`, `realloc`, `aligned_alloc` and
//! `posix_memalign`, beside the raw ABI. `free` is `deallocate` under another name; `malloc`,
//! `calloc` and `realloc` return blocks aligned to [`C_ALIGN`] = 16, `alignof(max_align_t)` on
//! wasm32, as C requires (the raw ABI stays at 8). Both modules that carry the C names (`abi.rs`,
//! `import_memory.rs`) export these.

use crate::core::heap::Heap;
use crate::core::source::Source;

/// `posix_memalign`'s error numbers: the WASI values, as in wasi-libc's `<errno.h>`.
pub const EINVAL: u32 = 28;
pub const ENOMEM: u32 = 48;

/// The alignment of `malloc`, `calloc` and `realloc`: `alignof(max_align_t)` on wasm32 (clang,
/// wasi-libc), which C requires of them.
pub const C_ALIGN: u32 = 16;

/// `malloc(size)`: `allocate`, 16-aligned, in C's block sizes ([`Heap::allocate16`]).
#[inline]
pub fn malloc<S: Source>(heap: Heap<S>, size: u32) -> u32 {
    heap.allocate16(size)
}

/// `realloc(ptr, size)`: `reallocate` with the result 16-aligned and C's block sizes
/// ([`Heap::reallocate16`]); on failure 0, and the old block is untouched.
#[inline]
pub fn realloc<S: Source>(heap: Heap<S>, ptr: u32, size: u32) -> u32 {
    heap.reallocate16(ptr, size)
}

/// `calloc(n, size)`: `n * size` zero bytes, 16-aligned, or 0 when the product overflows or
/// memory runs out (counted as a failure, as `allocate` counts it). `fresh_from` is the end of
/// linear memory before the call: see [`zeroed`].
#[inline]
pub fn calloc<S: Source>(heap: Heap<S>, n: u32, size: u32, fresh_from: u32) -> u32 {
    // An overflowing product becomes a request no heap can serve: `allocate` fails and counts it.
    zeroed(heap, n.saturating_mul(size), C_ALIGN, fresh_from)
}

/// `size` zero bytes aligned to `align`, as `allocate_aligned` gives them, or 0. `fresh_from` is
/// the end of linear memory before the call: pages that `memory.grow` adds during this very call
/// are zero already, so only the part of the block below `fresh_from` is cleared. Pass `u32::MAX`
/// to clear it all. `calloc` and `GlobalAlloc::alloc_zeroed` (`wasm.rs`) use it.
#[inline]
pub fn zeroed<S: Source>(heap: Heap<S>, size: u32, align: u32, fresh_from: u32) -> u32 {
    let ptr = heap.allocate_aligned(size, align);
    // `ptr + size` cannot wrap: the block lies inside memory, which ends below 4 GiB (and with
    // `ptr == 0` the sum is `size`).
    let clear_end = (ptr + size).min(fresh_from);
    if ptr != 0 && clear_end > ptr {
        // Safety: `ptr..clear_end` lies inside the block just allocated (`clear_end <= ptr + size`).
        unsafe { core::ptr::write_bytes(heap.mem.ptr(ptr), 0, (clear_end - ptr) as usize) }
    }
    ptr
}

/// `posix_memalign(memptr, align, size)`: 0 and the block's address in `*memptr`, or an error
/// number and `*memptr` untouched: `EINVAL` when `align` is not a power of two multiple of 4
/// (`sizeof(void *)`), `ENOMEM` when the block cannot be had (also for `align` > 65536).
#[inline]
pub fn posix_memalign<S: Source>(heap: Heap<S>, memptr: u32, align: u32, size: u32) -> u32 {
    if !align.is_power_of_two() || align < 4 {
        return EINVAL;
    }
    let ptr = heap.allocate_aligned(size, align);
    if ptr == 0 {
        return ENOMEM;
    }
    // Safety: C's contract for `posix_memalign`: `memptr` points at a pointer the caller owns.
    unsafe { core::ptr::write_unaligned(heap.mem.ptr(memptr) as *mut u32, ptr) };
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mem, Pool};
    use std::vec;

    /// Runs `f` on a heap in a 1 MiB buffer; `mem()` is the buffer, taken afresh at each use (a
    /// slice held across the heap's calls would alias the heap's own access under Miri's rules).
    fn with_heap(f: impl FnOnce(Heap<Pool>, &dyn Fn() -> &'static mut [u8])) {
        let limit = 1 << 20;
        let mut buffer = vec![0u64; limit / 8];
        let base = buffer.as_mut_ptr() as *mut u8;
        // Safety: `buffer` covers `limit` bytes, 8-aligned, used by this heap alone, and outlives it.
        let heap = unsafe { Heap::new(Mem::new(base), 8, Pool { limit: limit as u32 }) };
        assert!(heap.ensure_init(65536));
        // Safety: `buffer` outlives `f`; each slice is used for one statement, between calls.
        f(heap, &|| unsafe { std::slice::from_raw_parts_mut(base, limit) });
    }

    #[test]
    fn calloc_clears_reused_memory_but_not_fresh_memory() {
        with_heap(|heap, mem| {
            let p = malloc(heap, 100);
            mem()[p as usize..p as usize + 100].fill(0xAB);
            heap.deallocate(p);
            // Everything is "old" memory: the whole block is cleared.
            let q = calloc(heap, 10, 10, u32::MAX);
            assert_eq!(q, p, "the freed block is reused");
            assert!(mem()[q as usize..q as usize + 100].iter().all(|&b| b == 0));
            heap.deallocate(q);
            // With `fresh_from` at q + 40, the bytes from there on are left alone: the rule
            // trusts that they came zero from memory.grow.
            mem()[q as usize..q as usize + 100].fill(0xAB);
            let r = calloc(heap, 100, 1, q + 40);
            assert_eq!(r, q);
            assert!(mem()[r as usize..r as usize + 40].iter().all(|&b| b == 0));
            assert!(mem()[r as usize + 40..r as usize + 100].iter().all(|&b| b == 0xAB));
            assert_eq!(heap.check(), 0);
        });
    }

    #[test]
    fn zeroed_aligns_and_clears_only_below_fresh_memory() {
        with_heap(|heap, mem| {
            let p = heap.allocate_aligned(300, 64);
            mem()[p as usize..p as usize + 300].fill(0xCD);
            heap.deallocate(p);
            for align in [1, 8, 16, 64, 4096] {
                let q = zeroed(heap, 300, align, u32::MAX);
                assert!(q != 0 && q % align.max(8) == 0, "align {align}: {q:#x}");
                assert!(mem()[q as usize..q as usize + 300].iter().all(|&b| b == 0), "align {align}");
                mem()[q as usize..q as usize + 300].fill(0xCD);
                heap.deallocate(q);
            }
            let q = zeroed(heap, 300, 64, p + 100);
            assert_eq!(q, p, "the freed block is reused");
            assert!(mem()[q as usize..q as usize + 100].iter().all(|&b| b == 0));
            assert!(
                mem()[q as usize + 100..q as usize + 300].iter().all(|&b| b == 0xCD),
                "above fresh_from: left alone"
            );
            let failures = heap.stats().failures;
            assert_eq!(zeroed(heap, 8, 3, u32::MAX), 0, "a bad align fails as in allocate_aligned");
            assert_eq!(zeroed(heap, u32::MAX, 16, u32::MAX), 0);
            assert_eq!(heap.stats().failures, failures + 2);
            assert_eq!(heap.check(), 0);
        });
    }

    #[test]
    fn malloc_calloc_realloc_are_16_aligned_and_realloc_keeps_the_contents() {
        with_heap(|heap, mem| {
            let mut blocks: std::vec::Vec<(u32, u32, u8)> = std::vec::Vec::new();
            let mut seed = 0x2545_F491_4F6C_DD1Du64;
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let fill = |mem: &mut [u8], p: u32, n: u32, tag: u8| mem[p as usize..(p + n) as usize].fill(tag);
            let holds =
                |mem: &[u8], p: u32, n: u32, tag: u8| mem[p as usize..(p + n) as usize].iter().all(|&b| b == tag);
            for step in 0..if cfg!(miri) { 400 } else { 4000u32 } {
                let r = next();
                let size = (r >> 8) as u32 % if r % 7 == 0 { 3000 } else { 100 };
                let tag = (step % 251) as u8 + 1;
                match r % 4 {
                    0 | 1 => {
                        let p = if r % 8 < 4 { malloc(heap, size) } else { calloc(heap, 1, size, u32::MAX) };
                        assert!(p != 0 && p % 16 == 0, "step {step}: {p:#x}");
                        fill(mem(), p, size, tag);
                        blocks.push((p, size, tag));
                    }
                    2 if !blocks.is_empty() => {
                        let i = (r >> 32) as usize % blocks.len();
                        let (p, n, old) = blocks[i];
                        let q = realloc(heap, p, size);
                        assert!(q != 0 && q % 16 == 0, "step {step}: realloc to {q:#x}");
                        assert!(holds(mem(), q, n.min(size), old), "step {step}: contents kept");
                        fill(mem(), q, size, tag);
                        blocks[i] = (q, size, tag);
                    }
                    _ if !blocks.is_empty() => {
                        let (p, n, tag) = blocks.swap_remove((r >> 32) as usize % blocks.len());
                        assert!(holds(mem(), p, n, tag), "step {step}");
                        heap.deallocate(p);
                    }
                    _ => {}
                }
            }
            let q = realloc(heap, 0, 40);
            assert!(q != 0 && q % 16 == 0, "realloc(0, n) is malloc");
            assert_eq!(realloc(heap, q, u32::MAX), 0, "failure: 0");
            assert_eq!(heap.size(q), 40, "and the old block is untouched");
            for (p, n, tag) in blocks {
                assert!(holds(mem(), p, n, tag));
            }
            assert_eq!(heap.check(), 0);
        });
    }

    #[test]
    fn calloc_overflow_fails_and_counts() {
        with_heap(|heap, _| {
            let failures = heap.stats().failures;
            assert_eq!(calloc(heap, 0x1_0000, 0x1_0000, u32::MAX), 0);
            assert_eq!(calloc(heap, u32::MAX, 2, u32::MAX), 0);
            assert_eq!(calloc(heap, 3, 0x5555_5556, u32::MAX), 0);
            assert_eq!(heap.stats().failures, failures + 3);
            let z = calloc(heap, 0, 12345, u32::MAX);
            assert!(z != 0, "calloc(0, n) is a unique non-zero pointer, as malloc(0)");
            assert_eq!(heap.size(z), 0);
            assert_eq!(heap.check(), 0);
        });
    }

    #[test]
    fn posix_memalign_errors_and_success() {
        with_heap(|heap, mem| {
            let out = heap.allocate(4);
            let read = |mem: &[u8]| u32::from_le_bytes(mem[out as usize..out as usize + 4].try_into().unwrap());
            mem()[out as usize..out as usize + 4].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
            for bad in [0, 1, 2, 3, 6, 12, 100] {
                assert_eq!(posix_memalign(heap, out, bad, 8), EINVAL, "align {bad}");
            }
            assert_eq!(posix_memalign(heap, out, 1 << 17, 8), ENOMEM);
            assert_eq!(posix_memalign(heap, out, 8, 2 << 20), ENOMEM);
            assert_eq!(read(mem()), 0xDEAD_BEEF, "*memptr untouched on failure");
            for align in [4, 8, 16, 256, 4096, 65536] {
                assert_eq!(posix_memalign(heap, out, align, 24), 0);
                let p = read(mem());
                assert!(p != 0 && p % align == 0, "align {align}: {p:#x}");
                assert_eq!(heap.size(p), 24);
                heap.deallocate(p);
            }
            assert_eq!(heap.check(), 0);
        });
    }
}
