//! The heap of `wasm/wasmheap-static.wasm` (feature `static-pool`): a fixed pool inside the
//! module that never grows.
//!
//! The pool is a zeroed static array, so the linker puts it in the module's initial memory (no
//! data segment: memory starts zero) and the heap's root, at its start, reads all zero until the
//! first allocation sets the heap up, as the root at `__heap_base` does in the default module.
//! [`StaticPool`] is the memory source: it hands over the whole pool when the heap is set up and
//! refuses every growth after that, so the module contains no `memory.grow` instruction at all
//! (the wasmtime suite inspects its code). A request that does not fit returns 0 and counts a
//! failure; freed blocks make room again.
//!
//! The pool's size is chosen at build time by the environment variable `WASMHEAP_POOL_BYTES`
//! (decimal bytes, or with a `K`/`M` suffix for KiB/MiB), default 32 KiB; it must be a multiple
//! of 8 from [`MIN_POOL_BYTES`] to [`MAX_POOL_BYTES`], else the build stops.

use crate::core::heap::{CONTROL_SIZE, Heap, ROOT_SIZE};
use crate::core::mem::Mem;
use crate::core::source::Source;

/// Smallest pool: the heap's records (root and segment 0's control block, [`RECORDS_SIZE`](crate::RECORDS_SIZE) bytes) and room
/// for a few blocks.
pub const MIN_POOL_BYTES: u32 = 4096;
/// Largest pool: 1 GiB. The pool is part of the module's initial memory, which a host commits
/// (or at least reserves) when it instantiates the module; beyond that, hosts that refuse
/// `memory.grow` rarely grant the memory up front either.
pub const MAX_POOL_BYTES: u32 = 1 << 30;
const DEFAULT_POOL_BYTES: u32 = 32 << 10;

/// `WASMHEAP_POOL_BYTES` at build time, parsed at compile time.
pub const POOL_BYTES: u32 = match option_env!("WASMHEAP_POOL_BYTES") {
    Some(text) => parse_bytes(text),
    None => DEFAULT_POOL_BYTES,
};
const _: () = assert!(
    POOL_BYTES >= MIN_POOL_BYTES && POOL_BYTES <= MAX_POOL_BYTES && POOL_BYTES % 8 == 0,
    "WASMHEAP_POOL_BYTES must be a multiple of 8 from 4096 (4K) to 1073741824 (1024M)"
);
const _: () = assert!(ROOT_SIZE + CONTROL_SIZE < MIN_POOL_BYTES);

/// "32768", "32K" or "1M" as bytes; anything else stops the build.
const fn parse_bytes(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let (digits, shift) = match bytes {
        [rest @ .., b'K' | b'k'] => (rest, 10),
        [rest @ .., b'M' | b'm'] => (rest, 20),
        _ => (bytes, 0),
    };
    assert!(!digits.is_empty(), "WASMHEAP_POOL_BYTES: expected a number of bytes, e.g. 32768 or 32K");
    let mut value: u64 = 0;
    let mut i = 0;
    while i < digits.len() {
        let d = digits[i];
        assert!(d.is_ascii_digit(), "WASMHEAP_POOL_BYTES: expected a number of bytes, e.g. 32768 or 32K");
        value = value * 10 + (d - b'0') as u64;
        assert!(value <= MAX_POOL_BYTES as u64, "WASMHEAP_POOL_BYTES: more than 1024M");
        i += 1;
    }
    let value = value << shift;
    assert!(value <= MAX_POOL_BYTES as u64, "WASMHEAP_POOL_BYTES: more than 1024M");
    value as u32
}

#[repr(C, align(8))]
struct Pool([u8; POOL_BYTES as usize]);

/// The pool. Only the heap touches it, through raw offsets.
static mut POOL: Pool = Pool([0; POOL_BYTES as usize]);

#[inline(always)]
fn pool_start() -> u32 {
    core::ptr::addr_of!(POOL) as u32
}

/// The pool as a memory source: all of it at set-up, never more.
#[derive(Clone, Copy)]
pub struct StaticPool;

// Safety: the returned end is the end of the pool, a static of this module that only the heap uses.
unsafe impl Source for StaticPool {
    #[inline]
    fn grow(&self, _end: u32, min_end: u32) -> Option<u32> {
        let end = pool_start() + POOL_BYTES;
        (min_end <= end).then_some(end)
    }
}

/// The heap in the pool. Its root reads all zero until the first allocation sets it up (see
/// `wasm::heap`).
#[inline(always)]
pub(crate) fn heap() -> Heap<StaticPool> {
    // Safety: the pool is 8-aligned, inside the module's memory, and used by nothing else.
    unsafe { Heap::new(Mem::WASM, pool_start(), StaticPool) }
}

/// The heap, set up if it was not yet (see `wasm::ready_heap`); the pool always holds the
/// records, so this is `None` never in practice.
pub(crate) fn ready_heap() -> Option<Heap<StaticPool>> {
    let heap = heap();
    (heap.is_initialized() || init(heap)).then_some(heap)
}

#[cold]
#[inline(never)]
fn init(heap: Heap<StaticPool>) -> bool {
    heap.ensure_init(pool_start() + POOL_BYTES)
}
