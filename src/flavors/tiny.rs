//! The whole of `wasm/wasmheap-tiny.wasm` (feature `tiny`): the smallest module that keeps the
//! raw ABI's semantics for `allocate`, `allocate_aligned`, `deallocate`, `reallocate`, `size`,
//! `free_all`, `free_all_mark`, `free_get_mark` and `free_to_mark`. It shares nothing with the
//! core: no `check`, no `stats`, no C names. Size first, speed second.
//!
//! ```text
//!  8 KiB stack | Root (2064 bytes)  | block | block | free | block ...  top   end of memory
//!                                     ^ __heap_base                       ^
//!  block: size (header included, a multiple of 8; bit 0: FREE) | requested size | payload
//! ```
//!
//! * Blocks tile the heap from its start to `top`; a pointer is a block's start + 8. The block
//!   below the top of the newest segment is never free: freeing it lowers the top ([`trim`]).
//! * `allocate` takes the first free block of the newest segment that fits, merging free
//!   neighbours as it walks and splitting off the rest; failing that it carves at the top,
//!   growing memory (`bump`). `allocate_aligned` above 8 always carves, leaving a free filler.
//! * A pointer is live exactly when a walk of the blocks from the heap's start lands on it and the
//!   block is not free ([`find`]): double frees, foreign, interior, misaligned and stale pointers
//!   are all rejected, with no probability of error, and a rejected call writes nothing.
//! * Marks: a mark is the top when it was taken; the newest mark's place is the newest segment's
//!   start, and nothing below it is reused (so `free_to_mark` releases exactly what came after).
//!   Tokens are `clock << 8 | depth`, checked against the table: a stale token is rejected unless
//!   2^24 marks were taken since. The floor is a mark whose token is never handed out.
//!
//! Cost: `allocate` O(blocks of the newest segment); `deallocate`, `reallocate` and `size` O(all
//! blocks) (the walk); the marks and `free_all` O(1).

use core::arch::wasm32::{memory_grow, memory_size};

/// Bit 0 of a block's size word: the block is free.
const FREE: u32 = 1;
/// Largest request, as in the core; no size arithmetic can wrap below it.
const MAX_REQUEST: u32 = 0xFFFE_0000;
/// Marks and floors nested at most (`free_get_mark` returns 0 beyond).
const MAX_DEPTH: u32 = 255;

// Safety: wasm-ld defines `__heap_base` for every module; only its address is taken.
unsafe extern "C" {
    static __heap_base: u8;
}

/// The tiny heap's root, all its state (the core's `Root` in small): the top, the depth of the
/// marks and the floor, the clock of the tokens, and the marks.
#[repr(C)]
struct Root {
    top: u32,
    depth: u32,
    floor: u32,
    clock: u32,
    /// marks[d] = (position of the segment's start, token); marks[0].0 is the heap's start.
    marks: [(u32, u32); 256],
}

/// [`Root`] as the module starts: the heap's start (`marks[0].0`) and the top are
/// `__heap_base`, in a data segment of 20 bytes (cheaper than code that sets them at the first
/// call); the rest is zero. Pointers are `u32` on wasm32, so the layouts agree.
#[repr(C)]
struct Initial {
    top: *const u8,
    zero: [u32; 3],
    marks: [(*const u8, u32); 256],
}

const NULL: *const u8 = core::ptr::null();
static mut S: Initial = Initial {
    top: &raw const __heap_base,
    zero: [0; 3],
    marks: {
        let mut m = [(NULL, 0); 256];
        m[0].0 = &raw const __heap_base;
        m
    },
};

#[inline(always)]
fn state() -> &'static mut Root {
    // Safety: the module is single-threaded (atomics builds are refused) and every export takes
    // the state for one step and lets it go before the next call takes it again.
    unsafe { &mut *(core::ptr::addr_of_mut!(S) as *mut Root) }
}

#[inline(always)]
fn ld(a: u32) -> u32 {
    // Safety: in wasm every address below the memory size is memory (above it, a trap); callers
    // pass 4-aligned addresses of the heap's blocks.
    unsafe { *(a as *const u32) }
}

#[inline(always)]
fn sto(a: u32, v: u32) {
    // Safety: as for `ld`.
    unsafe { *(a as *mut u32) = v }
}

/// The block after `b`, whose size word is `w`. A size word that does not move forward (zero, or
/// wrapping: only when someone wrote the allocator's headers) ends every walk instead of looping.
#[inline(never)]
fn next(b: u32, w: u32) -> u32 {
    let nb = b.wrapping_add(w & !7);
    if nb > b { nb } else { u32::MAX }
}

#[inline(always)]
fn base(s: &Root) -> u32 {
    s.marks[(s.depth & 255) as usize].0
}

/// The live block whose payload is `p`, or 0: walks every block from the heap's start.
#[inline(never)]
fn find(p: u32) -> u32 {
    let s = state();
    let mut b = s.marks[0].0;
    while b < s.top {
        let w = ld(b);
        if b + 8 == p {
            return if w & FREE == 0 { b } else { 0 };
        }
        b = next(b, w);
    }
    0
}

/// Lowers the top past the free blocks below it, down to the newest segment's start.
#[inline(never)]
fn trim() {
    let s = state();
    let mut b = base(s);
    let mut end = b;
    while b < s.top {
        let w = ld(b);
        b = next(b, w);
        if w & FREE == 0 {
            end = b;
        }
    }
    s.top = end;
}

/// Makes memory reach `end`.
#[inline(never)]
fn reserve(end: u64) -> bool {
    let have = memory_size(0) as u64 * 65536;
    end <= have || (end <= 0xFFFF_FFF8 && memory_grow(0, ((end - have + 0xFFFF) >> 16) as usize) != usize::MAX)
}

/// A block at the top for `n` bytes whose payload is a multiple of `align` (a power of two >= 8).
#[inline(never)]
fn bump(n: u32, align: u32) -> u32 {
    let s = state();
    let top = s.top;
    let p = (top as u64 + 8 + align as u64 - 1) & !(align as u64 - 1);
    let end = p + ((n as u64 + 7) & !7);
    if n > MAX_REQUEST || !reserve(end) {
        return 0;
    }
    let p = p as u32;
    let b = p - 8;
    if b != top {
        sto(top, (b - top) | FREE);
    }
    sto(b, end as u32 - b);
    sto(p - 4, n);
    s.top = end as u32;
    p
}

#[unsafe(no_mangle)]
pub extern "C" fn allocate(n: u32) -> u32 {
    let s = state();
    let size = ((n as u64 + 15) & !7) as u32;
    let mut b = base(s);
    while b < s.top {
        let mut w = ld(b);
        if w & FREE != 0 {
            // Merge the free blocks that follow.
            loop {
                let nb = next(b, w);
                if nb >= s.top || ld(nb) & FREE == 0 {
                    break;
                }
                let merged = w.wrapping_add(ld(nb) & !7);
                if merged <= w {
                    break; // a header that was overwritten: stop merging
                }
                w = merged;
            }
            sto(b, w);
            let have = w & !7;
            if n <= MAX_REQUEST && have >= size {
                if have > size {
                    sto(b + size, (have - size) | FREE);
                }
                sto(b, size);
                sto(b + 4, n);
                return b + 8;
            }
        }
        b = next(b, w);
    }
    bump(n, 8)
}

#[unsafe(no_mangle)]
pub extern "C" fn allocate_aligned(n: u32, align: u32) -> u32 {
    if align.wrapping_sub(1) & align != 0 || align > 65536 || align == 0 {
        return 0;
    }
    if align <= 8 { allocate(n) } else { bump(n, align) }
}

#[unsafe(no_mangle)]
pub extern "C" fn deallocate(p: u32) {
    let b = find(p);
    if b != 0 {
        release(b);
    }
}

#[inline(never)]
fn release(b: u32) {
    sto(b, ld(b) | FREE);
    trim();
}

#[unsafe(no_mangle)]
pub extern "C" fn size(p: u32) -> u32 {
    let b = find(p);
    if b != 0 { ld(b + 4) } else { 0 }
}

#[unsafe(no_mangle)]
pub extern "C" fn reallocate(p: u32, n: u32) -> u32 {
    if p == 0 {
        return allocate(n);
    }
    let b = find(p);
    if b == 0 || n > MAX_REQUEST {
        return 0;
    }
    let s = state();
    let size = (n + 15) & !7;
    let have = ld(b);
    if b + have == s.top && b >= base(s) {
        // The top block of the newest segment: the top follows it, up or down.
        if reserve(b as u64 + size as u64) {
            s.top = b + size;
            sto(b, size);
            sto(b + 4, n);
            return p;
        }
    } else if have >= size {
        sto(b + 4, n);
        return p;
    }
    let q = allocate(n);
    if q != 0 {
        let old = ld(b + 4);
        // Safety: `p` is live with `old` bytes and `q` a block just taken from free memory: the
        // two do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(p as *const u8, q as *mut u8, old.min(n) as usize) };
        release(b);
    }
    q
}

#[unsafe(no_mangle)]
pub extern "C" fn free_get_mark() -> u32 {
    let s = state();
    if s.depth >= MAX_DEPTH {
        return 0;
    }
    s.depth += 1;
    s.clock += 1;
    let t = s.clock << 8 | s.depth;
    s.marks[(s.depth & 255) as usize] = (s.top, t);
    t
}

#[unsafe(no_mangle)]
pub extern "C" fn free_to_mark(t: u32) {
    let s = state();
    let d = t & 255;
    if d == 0 || d > s.depth || s.marks[d as usize].1 != t {
        return;
    }
    s.top = s.marks[d as usize].0;
    s.depth = d - 1;
    if d <= s.floor {
        // Below the floor: the floor comes down to the state after the call (mark d's place,
        // with a token never handed out).
        free_all_mark();
    }
    trim();
}

#[unsafe(no_mangle)]
pub extern "C" fn free_all_mark() {
    let s = state();
    if (s.floor != s.depth || base(s) != s.top) && free_get_mark() != 0 {
        s.floor = s.depth;
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn free_all() {
    let s = state();
    s.depth = s.floor;
    s.top = base(s);
}
