//! The spike of `examples/spike.rs`, asserted: after the discard the process's resident memory is
//! back within 4 MiB of what it was before the spike, and the second spike runs correctly (its
//! contents and `check()` are verified inside). One test, so that no other test of this binary
//! moves the resident memory while it measures.

#[path = "../examples/spike.rs"]
mod spike;

use spike::{Figures, SPIKE, spike};

fn assert_given_back(name: &str, f: Figures) {
    const MIB: u64 = 1 << 20;
    eprintln!("{name}: {f:?}");
    assert!(f.spike >= f.before + SPIKE as u64 * 9 / 10, "{name}: the spike was not resident: {f:?}");
    assert!(f.freed >= f.before + SPIKE as u64 * 9 / 10, "{name}: freeing alone gave memory back: {f:?}");
    assert!(f.discarded <= f.before + 4 * MIB, "{name}: resident memory not back within 4 MiB: {f:?}");
    assert!(f.dropped >= SPIKE as u64 - 4 * MIB, "{name}: dropped only {} bytes", f.dropped);
    assert!(f.second_spike >= f.before + SPIKE as u64 * 9 / 10, "{name}: the second spike: {f:?}");
}

#[test]
#[cfg(target_os = "linux")]
fn a_spike_is_given_back_and_the_heap_serves_another() {
    assert_given_back("frees one by one", spike(false).unwrap());
    assert_given_back("free_to_mark", spike(true).unwrap());
}
