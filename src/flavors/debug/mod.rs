//! The debug flavor (`wasm/wasmheap-debug.wasm`, features `module,debug`): the same raw ABI, and
//! behind it a layer over the core that finds the bugs of the program using the heap.
//!
//! Every allocation of `n` bytes is a core block holding `n + 12`: the `n` bytes handed out, then
//! a canary, the allocation's id (a running number) and the caller's tag (`debug_set_tag`):
//!
//! ```text
//!  b+0  header | b+4 tag | p = b+8: n bytes handed out | canary FD FD FD FD | id | caller tag | slack
//!                          ^ the pointer (p - 8 is the core's header, as in every flavor)
//! ```
//!
//! The three words after the bytes are written unaligned. `size(p)` answers `n`; `stats()` counts
//! `n`, and its peak is the peak of those counts.
//!
//! **Poison.** Freed memory is filled with `POISON` and checked when it is handed out again, so
//! this flavor's `discardable()` lists nothing (`src/core/discard.rs`). The invariant, kept by
//! every call and checked by `check()` (code 21):
//!
//! 1. In a free block `[s, e)` every byte of `[s + 12, e - 4)` is `POISON`: all but the core's
//!    own words (header, the two list links, footer).
//! 2. Above the top, every byte of `[top, high_water)` is `POISON`; `high_water` is the highest
//!    top that memory ever came down from. Above it, memory is as `memory.grow` gave it.
//!
//! The core writes its own words when it frees and merges blocks; the layer poisons the ones that
//! end up inside a free block (an old header, link or footer) after each call (`freed`,
//! `released_tail`). The first 4 bytes handed out are a free block's back link once it is freed,
//! so a write after free there is not seen by the poison check; `check()` sees the broken link
//! (code 8 or 13).
//!
//! **Problems** (a rejected free, a stale mark, a broken canary or poison, a heap that fails
//! `check()`) are recorded in a ring of reports (`ring.rs`); then the call goes on as the default
//! module's does, or traps (`debug_set_trap`). `debug_set_check` runs `check()` after every call.
//!
//! **Smashed headers.** An underrun lands in the block's own header, an overrun past the stamp in
//! the next block's; the core then refuses the pointer. To tell that from a double free, the layer
//! walks the blocks up to the pointer (`walk.rs`, on the error path only): a block starting there
//! that is neither live nor a sound free block has a smashed header (reason `SmashedHeader`), and
//! the block before it is blamed when its canary is broken too. No guard word sits before the
//! pointer (it would cost 8 bytes a block and an offset-aligned core allocation: wasm/FLAVORS.md,
//! section 9). An id is only read from a stamp whose canary's last byte is intact (`identity`),
//! and a block whose overrun smashed the next header is not freed (`may_free`).

mod exports;
pub(crate) mod ring;
mod walk;

use crate::core::block::{self, FREE, HEADER, PREV_FREE, SIZE_MASK};
use crate::core::heap::{Heap, Live};
use crate::core::source::WasmMemory;
use crate::core::stats::Stats;
use ring::{Code, Reason, state};
use walk::{Block, BlockState, Place};

/// Bytes the layer adds to every request: canary, id, caller tag.
const EXTRA: u32 = 12;
const CANARY: u32 = 0xFDFD_FDFD;
const POISON: u8 = 0xDD;
/// The core's words at the start of a free block that are not poison: header and two links.
const FREE_HEAD: u32 = 12;

/// `check()` codes of this flavor beyond the core's (1..=13).
pub const BROKEN_CANARY: u32 = 20;
pub const BROKEN_POISON: u32 = 21;

/// The instance's heap, seen through the debug layer.
#[derive(Clone, Copy)]
pub(crate) struct DebugHeap {
    core: Heap<WasmMemory>,
}

pub(crate) fn heap() -> DebugHeap {
    DebugHeap { core: crate::flavors::wasm::heap() }
}

pub(crate) fn ready_heap() -> Option<DebugHeap> {
    crate::flavors::wasm::ready_heap().map(|core| DebugHeap { core })
}

/// The identity an allocation keeps while it lives, also across `reallocate`.
#[derive(Clone, Copy)]
struct Identity {
    id: u32,
    tag: u32,
}

impl DebugHeap {
    // ---- the raw ABI ----

    pub fn allocate(self, request: u32) -> u32 {
        let ptr = self.fresh(request, None, None);
        self.after_call();
        ptr
    }

    pub fn allocate_aligned(self, request: u32, align: u32) -> u32 {
        let ptr = self.fresh(request, Some(align), None);
        self.after_call();
        ptr
    }

    pub fn deallocate(self, ptr: u32) {
        if ptr != 0 {
            match self.core.live(ptr) {
                Some(live) => {
                    let request = live.request - EXTRA;
                    let identity = self.check_canary(ptr, request);
                    if self.may_free(live, request) {
                        state().take_live(request);
                        self.free(live, identity)
                    }
                }
                None => {
                    self.report_bad_pointer(Code::BadDeallocate, ptr);
                    self.core.deallocate(ptr);
                }
            }
        }
        self.after_call();
    }

    pub fn reallocate(self, ptr: u32, request: u32) -> u32 {
        let result = if ptr == 0 {
            self.fresh(request, None, None)
        } else if let Some(live) = self.core.live(ptr) {
            self.resize(live, request)
        } else {
            self.report_bad_pointer(Code::BadReallocate, ptr);
            self.core.reallocate(ptr, request)
        };
        self.after_call();
        result
    }

    pub fn size(self, ptr: u32) -> u32 {
        self.core.live(ptr).map_or(0, |live| live.request - EXTRA)
    }

    pub fn free_all(self) {
        self.dropping(|core| core.free_all());
    }

    pub fn free_all_mark(self) {
        self.core.free_all_mark();
        self.after_call();
    }

    pub fn free_get_mark(self) -> u32 {
        let mark = self.core.free_get_mark();
        self.after_call();
        mark
    }

    pub fn free_to_mark(self, mark: u32) {
        // SAFETY: each of the root's borrows here ends with its statement.
        let rejected = unsafe { self.core.root() }.rejected_marks;
        self.dropping(|core| core.free_to_mark(mark));
        // SAFETY: as above.
        if unsafe { self.core.root() }.rejected_marks != rejected {
            self.report(Code::StaleMark, mark, 0, 0);
        }
    }

    /// The core's `check()`, then every canary and the poison invariant. A broken heap is also
    /// reported, with the first smashed header the layer finds and the neighbour it blames.
    pub fn check(self) -> u32 {
        let code = self.core.check();
        if code != 0 {
            let (ptr, id) = self.first_smashed().map_or((0, 0), |(block, before)| (block + HEADER, self.blame(before)));
            self.report(Code::Corrupted, ptr, id, code);
            return code;
        }
        self.check_canaries_and_poison()
    }

    pub fn stats(self) -> Stats {
        let mut stats = self.core.stats();
        let state = state();
        debug_assert_eq!(state.live_bytes, stats.live_bytes - EXTRA * stats.live_blocks);
        stats.live_bytes = state.live_bytes;
        stats.peak_bytes = state.peak_live_bytes;
        stats
    }

    /// `discardable()`: lists nothing (0, or `u32::MAX` for a `page` that is not a power of
    /// two, as elsewhere). The poison invariant reads every free byte (`check()`, and each block
    /// handed out again): a page given back to the system would read as zero and be reported as
    /// a write after free. Use the other flavors to give memory back.
    pub fn write_discardable(self, _from: u32, page: u32, _out: u32, _max: u32) -> u32 {
        if page.is_power_of_two() { 0 } else { u32::MAX }
    }

    // ---- allocation ----

    /// A new allocation (`allocate`, or `allocate_aligned` with `align`), stamped with
    /// `identity` or a new one, and counted live.
    fn fresh(self, request: u32, align: Option<u32>, identity: Option<Identity>) -> u32 {
        let Some(n) = request.checked_add(EXTRA) else { return self.core.failed() };
        // SAFETY: the root's borrow ends with this statement.
        let old_top = unsafe { self.core.root() }.top;
        let ptr = match align {
            None => self.core.allocate(n),
            Some(align) => self.core.allocate_aligned(n, align),
        };
        if ptr == 0 {
            return 0;
        }
        // The first allocation set the heap up: its top was segment 0's first block.
        let old_top = if old_top == 0 { self.core.first() } else { old_top };
        self.check_reused(ptr - HEADER, old_top);
        let state = state();
        let identity = identity.filter(|i| i.id != 0).unwrap_or_else(|| {
            state.next_id = state.next_id.wrapping_add(1);
            Identity { id: state.next_id, tag: state.caller_tag }
        });
        self.stamp(ptr, request, identity);
        state.add_live(request);
        ptr
    }

    /// Checks that a block just handed out (from a free block, or cut above `old_top`) holds
    /// poison where the invariant says it must.
    fn check_reused(self, block: u32, old_top: u32) {
        let size = self.core.mem.load(block) & SIZE_MASK;
        let (payload, end) = (block + HEADER, block + size);
        if block >= old_top {
            let high_water = state().high_water;
            if block > old_top {
                // An alignment gap cut from the top became a free block: poison inside it.
                self.expect_poison(old_top + FREE_HEAD, (block - 4).min(high_water));
                self.poison(old_top + FREE_HEAD, block - 4);
            }
            self.expect_poison(payload, end.min(high_water));
        } else {
            self.expect_poison(payload + 4, end - 4);
        }
    }

    fn stamp(self, ptr: u32, request: u32, identity: Identity) {
        let at = ptr + request;
        self.store_unaligned(at, CANARY);
        self.store_unaligned(at + 4, identity.id);
        self.store_unaligned(at + 8, identity.tag);
    }

    /// The identity stamped after the `request` bytes at `ptr`, or id and tag 0 when the stamp
    /// holds the program's bytes: an overrun that reached the id word ran over the canary's last
    /// byte first, and no id is 0 or larger than the last one given out.
    fn identity(self, ptr: u32, request: u32) -> Identity {
        let at = ptr + request;
        let id = self.load_unaligned(at + 4);
        // Safety: as for `load_unaligned`.
        let last = unsafe { *self.core.mem.ptr(at + 3) };
        if last != CANARY.to_ne_bytes()[3] || id == 0 || id > state().next_id {
            return Identity { id: 0, tag: 0 };
        }
        Identity { id, tag: self.load_unaligned(at + 8) }
    }

    // ---- free ----

    /// Frees a live block whose canary was checked and whose bytes are no longer counted live:
    /// contents poisoned, and the core's words that end up inside a free block poisoned after
    /// the core merged it.
    fn free(self, live: Live, identity: Identity) {
        let Live { block, size, .. } = live;
        let (ptr, end) = (block + HEADER, block + size);
        let mem = self.core.mem;
        // SAFETY: the root's borrow ends with this statement.
        let old_top = unsafe { self.core.root() }.top;
        let merges_prev = mem.load(block) & PREV_FREE != 0;
        let merges_next = end != old_top && mem.load(end) & FREE != 0;
        state().remember_freed(ptr, end, identity.id);
        self.poison(ptr, end);
        self.core.deallocate(ptr);
        if merges_prev {
            self.poison(block - 4, block + HEADER);
        }
        if merges_next {
            self.poison(end, end + FREE_HEAD);
        }
        // SAFETY: the root's borrow ends with this statement.
        let top = unsafe { self.core.root() }.top;
        if top < old_top {
            self.poison(top, top + FREE_HEAD);
            state().raise_high_water(old_top);
        }
    }

    // ---- reallocate ----

    fn resize(self, live: Live, request: u32) -> u32 {
        let ptr = live.block + HEADER;
        let old_request = live.request - EXTRA;
        let identity = self.check_canary(ptr, old_request);
        if !self.may_free(live, old_request) {
            return 0;
        }
        let Some(size) = request.checked_add(EXTRA).and_then(block::block_size) else {
            return self.core.failed();
        };
        let mem = self.core.mem;
        // SAFETY: the root's borrow ends with this statement.
        let (old_end, old_top) = (live.block + live.size, unsafe { self.core.root() }.top);
        let next = if old_end == old_top { 0 } else { mem.load(old_end) };
        if self.core.resize(live, size, request + EXTRA) {
            let end = live.block + (mem.load(live.block) & SIZE_MASK);
            if end < old_end {
                self.released_tail(end, old_end, next, old_top);
            } else if end > old_end && old_end == old_top {
                self.expect_poison(old_end, end.min(state().high_water));
            } else if end > old_end {
                self.expect_poison(old_end + FREE_HEAD, end.min(old_end + (next & SIZE_MASK) - 4));
            }
            self.stamp(ptr, request, identity);
            state().take_live(old_request);
            state().add_live(request);
            return ptr;
        }
        // Moved: a new block with the same identity, the old one freed. Counted as the core
        // counts a moving reallocation: no allocation, no free, one reallocation; the old bytes
        // leave the live count first, so the peak never holds both.
        state().take_live(old_request);
        let new = self.fresh(request, None, Some(identity));
        if new == 0 {
            state().add_live(old_request);
            return 0;
        }
        // Safety: `ptr` is live with `old_request` bytes, `new` a distinct block of `request`.
        unsafe { core::ptr::copy_nonoverlapping(mem.ptr(ptr), mem.ptr(new), old_request.min(request) as usize) };
        // The old block itself is unchanged: `live` still describes it.
        self.free(live, identity);
        // SAFETY: the only borrow of the root until this function returns.
        let root = unsafe { self.core.root() };
        // a reallocation, not the allocation and the free it was made of
        root.reallocations += 1;
        root.allocations = root.allocations.wrapping_sub(1);
        root.frees = root.frees.wrapping_sub(1);
        new
    }

    /// After the core shrank a block in place, released `[start, end)` (it held the caller's
    /// bytes): poisons what became free memory. `next` is the header that followed `end` (0 if
    /// `end` was the top).
    fn released_tail(self, start: u32, end: u32, next: u32, old_top: u32) {
        // SAFETY: the root's borrow ends in the comparison.
        if unsafe { self.core.root() }.top < old_top {
            self.poison(start, end);
            state().raise_high_water(old_top);
        } else if next & FREE != 0 {
            self.poison(start + FREE_HEAD, end + FREE_HEAD);
        } else {
            self.poison(start + FREE_HEAD, end - 4);
        }
    }

    // ---- marks ----

    /// Runs a call that may drop blocks wholesale (`free_all`, `free_to_mark`): the canaries of
    /// the blocks it dropped are checked, and the memory above the new top poisoned.
    fn dropping(self, call: impl FnOnce(Heap<WasmMemory>)) {
        // SAFETY: `root` is copied out of before `call` takes the root again.
        let root = unsafe { self.core.root() };
        let (old_top, old_depth, controls) = (root.top, root.depth, root.segments);
        call(self.core);
        // SAFETY: each borrow ends when its field is read.
        let (top, depth) = (unsafe { self.core.root() }.top, unsafe { self.core.root() }.depth);
        if top < old_top {
            let dropped = self.walk_dropped(top, old_top, &controls[depth as usize + 1..=old_depth as usize]);
            self.poison(top, old_top);
            let state = state();
            state.raise_high_water(old_top);
            state.forget_freed(top, old_top);
            state.live_bytes -= dropped;
        }
        self.after_call();
    }

    // ---- canaries, poison ----

    /// Checks the canary after the `request` bytes at `ptr`; reports a broken one. Returns the
    /// allocation's identity.
    fn check_canary(self, ptr: u32, request: u32) -> Identity {
        let identity = self.identity(ptr, request);
        if let Some(at) = self.first_changed(ptr + request, ptr + request + 4, CANARY.to_ne_bytes()[0]) {
            self.report(Code::Overrun, ptr, identity.id, at);
        }
        identity
    }

    fn canary_intact(self, ptr: u32, request: u32) -> bool {
        self.load_unaligned(ptr + request) == CANARY
    }

    /// Whether the core may free or resize the live block at `live` holding `request` bytes: not
    /// when its canary is broken and the header after it is not one the core can merge through
    /// (an overrun ran over it: the core would take the program's bytes for a size and list
    /// links). Then the block stays allocated, `deallocate` does nothing more and `reallocate`
    /// returns 0; `check()` reports the smashed header.
    fn may_free(self, live: Live, request: u32) -> bool {
        let next = live.block + live.size;
        self.canary_intact(live.block + HEADER, request)
            // SAFETY: the root's borrow ends in the comparison.
            || next == unsafe { self.core.root() }.top
            || self.is_live(next + HEADER)
            || self.is_free_block(next)
            || {
                // SAFETY: taken after the calls above that take the root, for this test alone.
                let root = unsafe { self.core.root() };
                root.segments[..=root.depth as usize].contains(&next)
            }
    }

    /// Checks that `[from, to)` is poison; reports the first changed byte with the freed
    /// allocation it belonged to, when the ring of frees still knows it.
    fn expect_poison(self, from: u32, to: u32) -> bool {
        let Some(at) = self.first_changed(from, to, POISON) else { return true };
        let (ptr, id) = state().freed_at(at);
        self.report(Code::WriteAfterFree, ptr, id, at);
        false
    }

    fn poison(self, from: u32, to: u32) {
        if from < to {
            // Safety: `[from, to)` is memory of the heap's region that no live block holds.
            unsafe { core::ptr::write_bytes(self.core.mem.ptr(from), POISON, (to - from) as usize) }
        }
    }

    /// The first byte of `[from, to)` that is not `byte`.
    fn first_changed(self, from: u32, to: u32, byte: u8) -> Option<u32> {
        let word = u64::from_ne_bytes([byte; 8]);
        let mut at = from;
        while at + 8 <= to {
            // Safety: inside the heap's memory; unaligned reads are fine in wasm.
            if unsafe { core::ptr::read_unaligned(self.core.mem.ptr(at) as *const u64) } != word {
                break;
            }
            at += 8;
        }
        // Safety: as above, one byte at a time.
        (at..to).find(|&a| unsafe { *self.core.mem.ptr(a) } != byte)
    }

    fn load_unaligned(self, at: u32) -> u32 {
        // Safety: `at` lies in a block of the heap; wasm loads need no alignment.
        unsafe { core::ptr::read_unaligned(self.core.mem.ptr(at) as *const u32) }
    }

    fn store_unaligned(self, at: u32, value: u32) {
        // Safety: as for `load_unaligned`, in a block the layer is stamping.
        unsafe { core::ptr::write_unaligned(self.core.mem.ptr(at) as *mut u32, value) }
    }

    // ---- reports ----

    /// Reports a pointer the core refused, with the reason the layer can tell. Inside the heap it
    /// walks the blocks up to `ptr - 8` (O(blocks), on this error path only): what starts a block
    /// there decides, before what the ring of frees remembers of the address (a block handed out
    /// again since and then smashed is no double free).
    fn report_bad_pointer(self, code: Code, ptr: u32) {
        let freed = state().freed_id(ptr);
        let freed_or = |reason| freed.map_or((reason, 0), |id| (Reason::AlreadyFree, id));
        let (reason, id) = if ptr % 8 != 0 {
            (Reason::Misaligned, 0)
        // SAFETY: the root's borrow ends in the comparison.
        } else if ptr < self.core.first_payload() || ptr >= unsafe { self.core.root() }.top {
            freed_or(Reason::Outside)
        } else {
            match self.place(ptr - HEADER) {
                (Place::Start(b), _) if b.state == BlockState::Control => (Reason::NotLive, 0),
                (Place::Start(b), _) if b.state != BlockState::Used && self.is_free_block(b.address) => {
                    (Reason::AlreadyFree, freed.unwrap_or(0))
                }
                (Place::Start(_) | Place::Broken, before) => (Reason::SmashedHeader, self.blame(before)),
                (Place::Inside | Place::Unknown, _) => freed_or(Reason::NotLive),
            }
        };
        self.report(code, ptr, id, reason as u32);
    }

    /// The block before a smashed header, when it is a live block whose canary is broken too:
    /// most likely its overrun wrote the header. Records that overrun (without trapping: the
    /// report about the header follows) and returns its id (0 when the overrun ran over it too);
    /// else 0.
    fn blame(self, before: Option<Block>) -> u32 {
        let Some(b) = before.filter(|b| b.state == BlockState::Used && self.is_live(b.ptr)) else { return 0 };
        let Some(at) = self.first_changed(b.ptr + b.request, b.ptr + b.request + 4, CANARY.to_ne_bytes()[0]) else {
            return 0;
        };
        state().record(Code::Overrun, b.ptr, b.id, at);
        b.id
    }

    /// The core's test, not inlined: the layer's walks and error paths need no speed.
    #[inline(never)]
    fn is_live(self, ptr: u32) -> bool {
        self.core.live(ptr).is_some()
    }

    /// Whether `block` (below the top) starts a free block: a free header whose footer agrees.
    /// User data that merely has the free bit set fails the footer test (almost always).
    fn is_free_block(self, block: u32) -> bool {
        let header = self.core.mem.load(block);
        let size = header & SIZE_MASK;
        header & FREE != 0
            && size >= crate::core::block::MIN_BLOCK
            // SAFETY: the root's borrow ends in the comparison.
            && size <= unsafe { self.core.root() }.top - block
            && self.core.mem.load(block + size - 4) == size
    }

    fn report(self, code: Code, ptr: u32, id: u32, detail: u32) {
        let state = state();
        state.record(code, ptr, id, detail);
        if state.trap != 0 {
            core::arch::wasm32::unreachable()
        }
    }

    /// `debug_set_check`: `check()` after every call of the raw ABI.
    fn after_call(self) {
        if state().check_each != 0 {
            self.check();
        }
    }
}
