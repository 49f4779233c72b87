//! A real Rust program whose heap traffic becomes the `recorded` benchmark trace.
//!
//! The workload, repeated `rounds` times with a fixed seed: write a JSON document of random
//! records with `format!`/`push_str`, parse it into a tree of `String`, `Vec` and `BTreeMap`,
//! index it (tag -> ids, word -> count, both `BTreeMap`s; stable sort of the word counts), build a
//! summary document, serialize it, parse it again and compare, and keep the last few serialized
//! summaries in a `VecDeque` (so that some blocks outlive a round).
//!
//! Every `GlobalAlloc` call is forwarded to a bump allocator (never frees: the addresses are
//! unique, so the host can map them to slots without ambiguity) and logged to the host through
//! the imported `env.record(op, ptr, size, old_ptr, align)`: op 0 alloc, 1 free, 2 realloc.
//! The program's allocation calls do not depend on the addresses returned, so the trace is the
//! same whatever allocator serves it.
#![no_std]

extern crate alloc;

mod workload;

use alloc::collections::VecDeque;
use alloc::string::String;
use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;
use core::ptr::null_mut;
use workload::{Rng, gen_doc, parse, serialize, summarize};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn record(op: u32, ptr: u32, size: u32, old: u32, align: u32);
}

// ----------------------------------------------------------------------------------------------
// The recording allocator.

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

unsafe impl GlobalAlloc for Recorder {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.bump(layout);
        unsafe { record(0, p as u32, layout.size() as u32, 0, layout.align() as u32) };
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe {
            record(
                1,
                ptr as u32,
                layout.size() as u32,
                0,
                layout.align() as u32,
            )
        };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = self.bump(unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
        if !new.is_null() {
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                record(
                    2,
                    new as u32,
                    new_size as u32,
                    ptr as u32,
                    layout.align() as u32,
                );
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

/// Runs the workload `rounds` times; returns a checksum (so that nothing is optimized away).
#[unsafe(no_mangle)]
pub extern "C" fn run(rounds: u32) -> u32 {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut kept: VecDeque<String> = VecDeque::new();
    let mut sum = 0u32;
    let mut next_id = 0;
    for _ in 0..rounds {
        let n = 20 + rng.below(100);
        let text = gen_doc(&mut rng, n, next_id);
        next_id += n;
        let doc = parse(&text);
        drop(text);
        let summary = summarize(&doc);
        let mut out = String::new();
        serialize(&summary, &mut out);
        if parse(&out) != summary {
            wasm32::unreachable();
        }
        // Round-trip the whole document too: serialize, parse, compare.
        let mut again = String::new();
        serialize(&doc, &mut again);
        if parse(&again) != doc {
            wasm32::unreachable();
        }
        sum = sum.wrapping_mul(31).wrapping_add(out.len() as u32);
        kept.push_back(out);
        if kept.len() > 4 {
            kept.pop_front();
        }
    }
    sum
}
