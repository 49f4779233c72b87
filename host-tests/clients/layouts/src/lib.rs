//! What the programs of the layout matrix share (host-tests/tests/layouts.rs): the workload and
//! the `program!` macro that makes an example a whole program.
//!
//! Each example (`examples/*.rs`) is a `no_std` cdylib with `wasmheap::WasmHeap` as its global
//! allocator and a zero-filled, 16-aligned pad in its bss whose length comes from an environment
//! variable at build time. The pad moves `__heap_base`: scripts/test (stage 4) builds every example
//! once with a 16-byte pad, reads where `__heap_base` then lies, and builds them again with the pad
//! that puts it where each example's name says (at the end of the initial memory, 16 bytes or
//! 1 KiB below it, mid-page). The host test checks that it did. `pool_end` (built with the feature
//! `static-pool`) has the heap in wasmheap's static pool instead, its size (`WASMHEAP_POOL_BYTES`)
//! measured and set the same way so that the pool ends at a page end.
#![no_std]

extern crate alloc;

#[path = "workload.rs"]
mod workload;
pub use workload::workload;

/// The length of a pad given at build time (decimal), `default` without one.
pub const fn pad_len(value: Option<&str>, default: usize) -> usize {
    let Some(s) = value else { return default };
    let b = s.as_bytes();
    assert!(!b.is_empty(), "an empty pad length");
    let mut n = 0usize;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "a pad length is a decimal number");
        n = n * 10 + (b[i] - b'0') as usize;
        i += 1;
    }
    assert!(n % 16 == 0, "a pad length is a multiple of 16");
    n
}

/// The pad: `N` zero bytes in the program's bss, 16-aligned so that a change of its length by a
/// multiple of 16 moves `__heap_base` by exactly that much.
#[repr(C, align(16))]
pub struct Pad<const N: usize>(pub [u8; N]);

/// A whole program: the global allocator, a panic handler, the pad (its length from the build-time
/// variable `$pad`) and the exports the host test calls:
///
/// * `run(seed, rounds) -> u64`: the workload's checksum (everything freed when it returns);
/// * `check() -> u32`: `HEAP.check()`, 0 when the heap is sound;
/// * `pad() -> u32`: the pad's length, which also keeps it in the module;
/// * `heap_end() -> u32`: where the heap's memory ends (for the static pool: the pool's end).
///
/// With the package's feature `static-pool` (wasmheap's, forwarded) the heap is a fixed pool in the
/// program's bss and the workload stays small.
#[macro_export]
macro_rules! program {
    ($pad:literal) => {
        #[global_allocator]
        static HEAP: wasmheap::WasmHeap = wasmheap::WasmHeap;

        #[panic_handler]
        fn panic(_: &core::panic::PanicInfo) -> ! {
            core::arch::wasm32::unreachable()
        }

        const PAD_LEN: usize = $crate::pad_len(option_env!($pad), 16);
        static PAD: $crate::Pad<PAD_LEN> = $crate::Pad([0; PAD_LEN]);

        #[unsafe(no_mangle)]
        pub extern "C" fn run(seed: u32, rounds: u32) -> u64 {
            $crate::workload(seed, rounds, cfg!(not(feature = "static-pool")))
        }

        /// The end of the heap's memory (its start plus its bytes): the end of the pool for the
        /// static flavor. Sets the heap up if no call did yet: call it after `run`.
        #[unsafe(no_mangle)]
        pub extern "C" fn heap_end() -> u32 {
            let s = HEAP.stats();
            s.heap_start + s.heap_bytes
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn check() -> u32 {
            HEAP.check()
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn pad() -> u32 {
            core::hint::black_box(&PAD).0.len() as u32
        }
    };
}
