// The program of issue 21 (Bug 1), as filed: the smallest no_std cdylib with wasmheap as its global
// allocator, built with the defaults (1 MiB stack first, no data). `check` is the only addition:
// host-tests/tests/layouts.rs reads the heap's verdict after `run`.
#![no_std]
extern crate alloc;
#[global_allocator]
static HEAP: wasmheap::WasmHeap = wasmheap::WasmHeap;
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
#[unsafe(no_mangle)]
pub extern "C" fn run(n: u32) -> u32 {
    (0..n).collect::<alloc::vec::Vec<u32>>().iter().sum()
}

#[unsafe(no_mangle)]
pub extern "C" fn check() -> u32 {
    HEAP.check()
}
