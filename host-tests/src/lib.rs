//! Harness for driving the wasmheap modules of `wasm/` from the host with wasmtime: the suite in
//! `tests/`, the soak (`src/bin/soak/`) and the demo (`src/bin/demo.rs`) share it.
//!
//! * [`repo`]: where the repository and its modules are;
//! * [`module`]: one fuel-metered `Engine` and one compiled module under test per process, and
//!   which flavor it is;
//! * [`layout`]: how a module gets its memory (its own, or an imported `env.memory`), found by
//!   [`probe`];
//! * [`Instance`]: the one wrapper of an instance, either layout, every call fuel-metered
//!   ([`fuel`]), memory refused by its [`Limiter`] (`limiter`); its memory in `memory`;
//! * [`Heap`]: the test harness on an `Instance` (panics on a trap, statistics through a scratch
//!   block); its assertions in `assertions`;
//! * [`model`]: the shadow model of the heap (the `wasmheap-model` crate, also used by the core's
//!   unit tests and the fuzz harness) driven through a `Heap`;
//! * [`shared`]: the shared flavor on OS threads, an instance each over one `SharedMemory`, and
//!   the random program they run (the suite's `tests/shared_memory.rs` and the soak's threads).

mod assertions;
mod fuel;
mod heap;
mod instance;
pub mod layout;
mod limiter;
mod memory;
pub mod model;
mod module;
mod repo;
pub mod shared;

pub use assertions::{Counter, assert_heap_unchanged_but_counter, diff_words};
pub use fuel::{Export, Fuel};
pub use heap::{DEFAULT_CAP, Heap, SCRATCH};
pub use instance::{Args, CALL_FUEL, Instance};
pub use layout::{HOST_BYTES, Layout, Probed, probe};
pub use limiter::{Limiter, State, Weather};
pub use module::*;
pub use repo::{read_repo_file, repo_path, repo_root};
pub use wasmheap_model::{Rng, Stats, mix, pattern};
