//! A Rust program with threads on wasmheap's `WasmHeap` (built with `+atomics`: it takes its lock).
//! Each thread of the host (a Node worker) instantiates this module over one shared memory; the
//! first instance initialises the statics (wasm-ld's `__wasm_init_memory`, once), every other one
//! gets a stack of its own from `alloc_stack`, which the first calls, and sets `__stack_pointer`.
//!
//! `work(tid, rounds)` builds `String`s, `Vec`s and a `BTreeMap` through the global allocator
//! and passes a boxed `Vec<String>` to whichever thread next takes the same slot of `MAILBOX`:
//! that thread checks it and frees it, so that blocks are freed by other threads than the ones that
//! allocated them. `drain()` frees what is left; `check()` and `stat(i)` report on the heap.
#![no_std]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

#[global_allocator]
static HEAP: wasmheap::WasmHeap = wasmheap::WasmHeap;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Boxed lists in flight between threads: (tid, round) and the strings of that round.
type Parcel = (u32, u32, Vec<String>);
static MAILBOX: [AtomicPtr<Parcel>; 16] = [const { AtomicPtr::new(core::ptr::null_mut()) }; 16];
/// Parcels received from another thread than the sender, over all threads.
static FOREIGN: AtomicU32 = AtomicU32::new(0);

/// A 16-aligned stack of `size` bytes for another thread's instance: returns its top (the value for
/// that instance's `__stack_pointer`), 0 when out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn alloc_stack(size: u32) -> u32 {
    let layout = core::alloc::Layout::from_size_align(size as usize, 16).unwrap();
    // SAFETY: a non-zero size; the block is the stack's until `free_stack`.
    let p = unsafe { alloc::alloc::alloc(layout) };
    if p.is_null() { 0 } else { p as u32 + size }
}

/// Frees a stack of `alloc_stack(size)` whose top is `top`, once its thread is done.
#[unsafe(no_mangle)]
pub extern "C" fn free_stack(top: u32, size: u32) {
    let layout = core::alloc::Layout::from_size_align(size as usize, 16).unwrap();
    // SAFETY: `top - size` is a block of `alloc_stack(size)` (the host's contract).
    unsafe { alloc::alloc::dealloc((top - size) as *mut u8, layout) }
}

fn strings(tid: u32, round: u32, n: u32) -> Vec<String> {
    (0..n).map(|i| format!("{tid}:{round}:{i}:{}", "x".repeat((i % 40) as usize))).collect()
}

/// Checks a parcel's strings against what its sender made: traps on a mismatch.
fn open((tid, round, list): Parcel) -> u64 {
    let expected = strings(tid, round, list.len() as u32);
    if list != expected {
        core::arch::wasm32::unreachable()
    }
    list.iter().map(|s| s.len() as u64).sum()
}

/// `rounds` rounds of work on the heap as thread `tid`; returns a checksum of what it saw.
#[unsafe(no_mangle)]
pub extern "C" fn work(tid: u32, rounds: u32) -> u64 {
    let mut sum = 0u64;
    let mut seed = tid.wrapping_mul(0x9E37_79B9) | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for round in 0..rounds {
        let mut index: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for i in 0..(20 + next() % 60) {
            let key = format!("key{}", next() % 50);
            index.entry(key).or_default().push(i);
        }
        let mut text = String::new();
        for (k, v) in &index {
            text.push_str(k);
            text.push('=');
            text.push_str(&format!("{v:?}"));
        }
        sum = sum.wrapping_add(text.len() as u64);
        let parcel = Box::new((tid, round, strings(tid, round, 1 + next() % 30)));
        let slot = &MAILBOX[(next() % 16) as usize];
        let previous = slot.swap(Box::into_raw(parcel), Ordering::AcqRel);
        if !previous.is_null() {
            // SAFETY: every pointer in the mailbox is a `Box<Parcel>` put there by `work`, and
            // the swap took it out: this thread owns it now.
            let parcel = unsafe { Box::from_raw(previous) };
            if parcel.0 != tid {
                FOREIGN.fetch_add(1, Ordering::Relaxed);
            }
            sum = sum.wrapping_add(open(*parcel));
        }
    }
    sum
}

/// Frees the parcels still in the mailbox (after every thread is done); returns how many.
#[unsafe(no_mangle)]
pub extern "C" fn drain() -> u32 {
    let mut n = 0;
    for slot in &MAILBOX {
        let p = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            // SAFETY: as in `work`.
            open(*unsafe { Box::from_raw(p) });
            n += 1;
        }
    }
    n
}

/// Parcels that a thread received from another thread.
#[unsafe(no_mangle)]
pub extern "C" fn foreign() -> u32 {
    FOREIGN.load(Ordering::Relaxed)
}

/// 0 when the heap is sound (src/CONTRACT.md, "`check()` codes").
#[unsafe(no_mangle)]
pub extern "C" fn check() -> u32 {
    HEAP.check()
}

/// Field `i` of the heap's statistics (0: live_blocks, 6: allocations, 7: frees, ...).
#[unsafe(no_mangle)]
pub extern "C" fn stat(i: u32) -> u32 {
    let s = HEAP.stats();
    match i {
        0 => s.live_blocks,
        1 => s.live_bytes,
        6 => s.allocations,
        7 => s.frees,
        9 => s.failures,
        10 => s.rejected_frees,
        _ => u32::MAX,
    }
}
