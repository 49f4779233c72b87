//! What every recorder program (host-tests/bench/recorder*) shares: the recording allocator, the
//! panic handler and a seeded random number generator.
//!
//! Linking this crate makes its `Recorder` the program's `#[global_allocator]`: every
//! `GlobalAlloc` call is forwarded to a bump allocator (never frees: the addresses are unique, so
//! the host can map them to slots without ambiguity) and logged to the host through the imported
//! `env.record(op, ptr, size, old_ptr, align)`: op 0 alloc, 1 free, 2 realloc. A program's
//! allocation calls do not depend on the addresses returned, so its trace is the same whatever
//! allocator serves it. The module imports nothing else; the host calls its `run(rounds)`.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;
use core::ptr::null_mut;

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn record(op: u32, ptr: u32, size: u32, old: u32, align: u32);
}

struct Recorder {
    top: Cell<usize>,
}

// SAFETY: wasm32-unknown-unknown without atomics is single-threaded.
unsafe impl Sync for Recorder {}

unsafe extern "C" {
    static __heap_base: u8;
}

const PAGE: usize = 65536;

impl Recorder {
    fn bump(&self, layout: Layout) -> *mut u8 {
        let mut top = self.top.get();
        if top == 0 {
            top = &raw const __heap_base as usize;
        }
        let start = (top + layout.align() - 1) & !(layout.align() - 1);
        let end = start + layout.size();
        let have = wasm32::memory_size(0) * PAGE;
        if end > have && wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) == usize::MAX {
            return null_mut();
        }
        self.top.set(end);
        start as *mut u8
    }
}

// SAFETY: `bump` hands out each byte once: blocks from the top up, aligned as asked, inside memory
// (grown first when needed) and above `__heap_base`, where nothing else of the program lives; a
// failed growth returns null. Nothing is reused, so no two live blocks overlap.
unsafe impl GlobalAlloc for Recorder {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.bump(layout);
        // SAFETY: `record` is the host's import; it reads its five integers and nothing else.
        unsafe { record(0, p as u32, layout.size() as u32, 0, layout.align() as u32) };
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        unsafe { record(1, ptr as u32, layout.size() as u32, 0, layout.align() as u32) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `layout.align()` is a power of two, and `GlobalAlloc::realloc`'s contract keeps
        // `new_size` rounded up to it within `isize::MAX`.
        let new = self.bump(unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
        if !new.is_null() {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes (the caller's contract) and
            // `new` a fresh one of `new_size`: never the same bytes (the bump never reuses); the
            // import as in `alloc`.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                record(2, new as u32, new_size as u32, ptr as u32, layout.align() as u32);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOC: Recorder = Recorder { top: Cell::new(0) };

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    wasm32::unreachable()
}

/// xorshift64*, seeded by the program (every trace is deterministic).
pub struct Rng(pub u64);

impl Rng {
    /// The next number of the sequence (the generator never ends: not an `Iterator`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Log-uniform in `lo..=hi` (`0 < lo <= hi`): as many values from each power of two.
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = (lo.ilog2(), hi.ilog2() + 1);
        let bits = a + self.below((b - a) as u64) as u32;
        let v = (1u64 << bits) + self.below(1u64 << bits);
        v.clamp(lo, hi)
    }
}

/// Words for generated text (deterministic, in the programs' seeded order).
pub const WORDS: [&str; 64] = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "allocator",
    "memory",
    "linear",
    "page",
    "block",
    "heap",
    "free",
    "list",
    "segregated",
    "fit",
    "boundary",
    "tag",
    "merge",
    "split",
    "grow",
    "shrink",
    "wasm",
    "module",
    "export",
    "import",
    "table",
    "function",
    "stack",
    "frame",
    "pointer",
    "offset",
    "align",
    "size",
    "class",
    "bin",
    "bitmap",
    "first",
    "second",
    "level",
    "index",
    "mark",
    "release",
    "reuse",
];
