//! The raw ABI, listed once. `abi.rs` makes each entry an export of the module; `import_memory.rs`
//! makes it a `__wasmheap_*` function that its shim calls with the heap's start first.
//!
//! An entry names the export, its `u32` parameters and result, how it reaches the heap, what it
//! does with it, and its answer when there is no heap to ask:
//!
//! - `hot`: the calls that test nothing first. In the module a heap not set up yet reads as empty
//!   (`wasm::heap`), so they always have one; the import-memory module has none before `init`.
//! - `ready`: the calls that read the heap's records whole, which need it set up (`None` only when
//!   memory cannot hold them).
//!
//! The contract of each export is in `src/CONTRACT.md`, "The raw ABI".

/// Calls `$make!` with the raw ABI's table (above); `$make!` receives entries of the form
/// `/// docs  fn name(arg: u32, ...) -> u32 { hot |h| expr } else { answer }`.
macro_rules! raw_abi {
    ($make:ident) => {
        $make! {
            /// A block of at least `size` bytes, 8-byte aligned; 0 when out of memory or too large.
            fn allocate(size: u32) -> u32 { hot |h| h.allocate(size) } else { 0 }

            /// As `allocate`, the pointer a multiple of `align` (a power of two up to 65536, else 0).
            fn allocate_aligned(size: u32, align: u32) -> u32 { hot |h| h.allocate_aligned(size, align) } else { 0 }

            /// Frees a live block; 0 is a no-op, anything else not live changes nothing but
            /// `rejected_frees`.
            fn deallocate(ptr: u32) { hot |h| h.deallocate(ptr) } else { () }

            /// C `realloc`: keeps the contents, in place when it can; 0 on failure, the old block
            /// untouched.
            fn reallocate(ptr: u32, size: u32) -> u32 { hot |h| h.reallocate(ptr, size) } else { 0 }

            /// The size last requested for a live block; 0 for anything else.
            fn size(ptr: u32) -> u32 { hot |h| h.size(ptr) } else { 0 }

            /// Releases every block allocated since the floor (at first: every block).
            fn free_all() { ready |h| h.free_all() } else { () }

            /// Makes the current state the floor: blocks live now survive later `free_all` calls.
            fn free_all_mark() { ready |h| h.free_all_mark() } else { () }

            /// A non-zero token for the current state (marks nest like a stack); 0 when none can
            /// be had.
            fn free_get_mark() -> u32 { ready |h| h.free_get_mark() } else { 0 }

            /// Releases the blocks allocated, or moved, after `mark` was taken; a stale mark
            /// changes nothing.
            fn free_to_mark(mark: u32) { ready |h| h.free_to_mark(mark) } else { () }

            /// Walks the whole heap: 0 when sound, else the number of the first
            /// [`Broken`](crate::Broken) invariant; `u32::MAX` if there is no heap to walk.
            fn check() -> u32 { ready |h| h.check() } else { u32::MAX }

            /// Lists the ranges of whole `page`-byte pages at or above `from`, inside free blocks
            /// and above the top, that the heap will not read or write until it takes them
            /// again (`src/core/discard.rs`): at most `max` records {start, len} of 8 bytes at
            /// `out`, in address order. Returns how many (resume from the last start + len),
            /// `u32::MAX` when `page` is not a power of two; 0 when there is no heap.
            fn discardable(from: u32, page: u32, out: u32, max: u32) -> u32 {
                ready |h| h.write_discardable(from, page, out, max)
            } else {
                0
            }

            /// Writes the 64-byte [`Stats`](crate::Stats) struct (16 `u32`) at `out`, which must be
            /// 64 bytes the caller owns; all zero when there is no heap.
            fn stats(out: u32) {
                ready |h| $crate::flavors::exports::write_stats(out, h.stats())
            } else {
                $crate::flavors::exports::write_stats(out, $crate::Stats::default())
            }
        }
    };
}
pub(crate) use raw_abi;

/// The C names that need a heap of their own (feature `c-api`; wasm/FLAVORS.md, section 5), in
/// the form of [`raw_abi!`]'s table. `free` and `aligned_alloc` are the raw ABI's calls under
/// another name (`abi.rs`, `import_memory.wat`).
#[cfg(feature = "c-api")]
macro_rules! c_names {
    ($make:ident) => {
        $make! {
            /// C `malloc`: `allocate`, but 16-aligned (`alignof(max_align_t)`).
            fn malloc(size: u32) -> u32 { hot |h| $crate::flavors::c_api::malloc(h, size) } else { 0 }

            /// C `realloc`: `reallocate`, the result 16-aligned.
            fn realloc(ptr: u32, size: u32) -> u32 { hot |h| $crate::flavors::c_api::realloc(h, ptr, size) } else { 0 }

            /// C `calloc`: a cleared 16-aligned block of `n * size` bytes; 0 when that overflows.
            fn calloc(n: u32, size: u32) -> u32 {
                hot |h| $crate::flavors::c_api::calloc(h, n, size, $crate::flavors::wasm::memory_end())
            } else {
                0
            }

            /// The canonical ABI's `cabi_realloc(old_ptr, old_size, align, new_size)`: a new
            /// block when `old_ptr` is 0, else the live block resized, at `align` (up to 65536);
            /// traps on failure (`flavors/cabi.rs`).
            fn cabi_realloc(old_ptr: u32, old_size: u32, align: u32, new_size: u32) -> u32 {
                hot |h| $crate::flavors::cabi::cabi_realloc(h, old_ptr, old_size, align, new_size)
            } else {
                $crate::flavors::cabi::fail()
            }

            /// POSIX `posix_memalign`: 0, `EINVAL` (28) or `ENOMEM` (48); `*memptr` untouched on
            /// failure.
            fn posix_memalign(memptr: u32, align: u32, size: u32) -> u32 {
                hot |h| $crate::flavors::c_api::posix_memalign(h, memptr, align, size)
            } else {
                $crate::flavors::c_api::ENOMEM
            }
        }
    };
}
#[cfg(feature = "c-api")]
pub(crate) use c_names;

/// `stats(out)`: the struct written at `out`, unaligned.
#[inline(always)]
pub(crate) fn write_stats(out: u32, stats: crate::Stats) {
    // Safety: the ABI makes `out..out + 64` the caller's (CONTRACT.md, "Guarantees"); in wasm any
    // address is memory, and one past the end traps rather than corrupting anything.
    unsafe { core::ptr::write_unaligned(out as *mut crate::Stats, stats) }
}
