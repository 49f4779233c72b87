//! The debug flavor's exports beyond the raw ABI (wasm/FLAVORS.md, section 9). Every value is an
//! i32; `out` is memory the caller owns (or `debug_buffer()`).

use super::ready_heap;
use super::ring::{BUFFER_BYTES, REPORTS, Report, state};

/// A 4096-byte buffer in the module's static memory, outside the heap, for the walks' records.
#[unsafe(no_mangle)]
pub extern "C" fn debug_buffer() -> u32 {
    const _: () = assert!(BUFFER_BYTES == 4096);
    state().buffer.as_ptr() as u32
}

/// The caller tag stored in every allocation made from now on.
#[unsafe(no_mangle)]
pub extern "C" fn debug_set_tag(tag: u32) {
    state().caller_tag = tag;
}

/// Non-zero: trap at the first problem, once its report is recorded.
#[unsafe(no_mangle)]
pub extern "C" fn debug_set_trap(on: u32) {
    state().trap = on;
}

/// Non-zero: run `check()` after every call of the raw ABI.
#[unsafe(no_mangle)]
pub extern "C" fn debug_set_check(on: u32) {
    state().check_each = on;
}

/// Live allocations with a pointer at least `from`, in address order: at most `max` records of
/// 16 bytes {ptr, size, id, tag} at `out`. Returns how many; resume from the last ptr + 1.
#[unsafe(no_mangle)]
pub extern "C" fn debug_live(from: u32, out: u32, max: u32) -> u32 {
    ready_heap().map_or(0, |h| h.write_blocks(from, out, max, true))
}

/// Every block with an address at least `from`, in address order, then the top: at most `max`
/// records of 32 bytes {address, size, state, depth, ptr, request, id, tag} at `out`. Returns
/// how many; resume from the last address + 1.
#[unsafe(no_mangle)]
pub extern "C" fn debug_blocks(from: u32, out: u32, max: u32) -> u32 {
    ready_heap().map_or(0, |h| h.write_blocks(from, out, max, false))
}

/// How many problems were reported so far (the ring keeps the last 64).
#[unsafe(no_mangle)]
pub extern "C" fn debug_report_count() -> u32 {
    state().report_count
}

/// The reports numbered `from` on that the ring still holds: at most `max` records of 20 bytes
/// {seq, code, ptr, id, detail} at `out`. Returns how many.
#[unsafe(no_mangle)]
pub extern "C" fn debug_reports(from: u32, out: u32, max: u32) -> u32 {
    let state = state();
    let first = from.max(state.report_count.saturating_sub(REPORTS as u32));
    let mut written = 0;
    for seq in first..state.report_count {
        let Some(report) = state.report(seq).filter(|_| written < max) else { break };
        // Safety: `out` has room for `max` records (the caller's contract); wasm stores need no
        // alignment.
        unsafe { core::ptr::write_unaligned((out + written * size_of::<Report>() as u32) as *mut Report, report) };
        written += 1;
    }
    written
}
