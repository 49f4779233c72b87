//! Walks of the heap in address order: every block (`debug_blocks`, the browser demo's heap map),
//! the live allocations (`debug_live`, a leak report), the canaries and poison (`check()`), the
//! blocks that a mark dropped, and the smashed headers (what a refused pointer points at, and the
//! first one `check()` finds).

use super::{BROKEN_CANARY, BROKEN_POISON, DebugHeap, EXTRA, FREE_HEAD, state};
use crate::core::block::{self, BINNED, FREE, HEADER, MIN_BLOCK, SIZE_MASK};
use crate::core::heap::{CONTROL_SIZE, slot};

/// A block's state in a `debug_blocks` record.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum BlockState {
    Used = 0,
    Free = 1,
    Binned = 2,
    /// A segment's control block (its record): where segment 0 or a mark begins.
    Control = 3,
    /// The rest of the heap's memory above the top.
    Top = 4,
}

/// One `debug_blocks` record (32 bytes); `ptr`, `request`, `id` and `tag` only for used blocks.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Block {
    pub address: u32,
    pub size: u32,
    pub state: BlockState,
    pub depth: u32,
    pub ptr: u32,
    pub request: u32,
    pub id: u32,
    pub tag: u32,
}

/// Where an address lies in the walk of the blocks.
pub enum Place {
    /// A block starts there.
    Start(Block),
    /// Inside a block.
    Inside,
    /// The walk stops there: a header whose size cannot be right.
    Broken,
    /// The walk stopped below it, at such a header.
    Unknown,
}

/// The blocks of the heap in address order, then the top. Stops early at a header whose size
/// cannot be right (a corrupted heap: `check()` says which invariant broke). A used block whose
/// header is smashed (its tag does not match) is listed with request, id and tag 0: its tag
/// holds no request, and nothing is read through it.
pub struct Blocks {
    heap: DebugHeap,
    depth: u32,
    at: u32,
    end: u32,
    done: bool,
}

impl DebugHeap {
    pub fn blocks(self) -> Blocks {
        // SAFETY: the only borrow of the root until the next statement, which copies out of it.
        let root = unsafe { self.core.root() };
        let mut blocks = Blocks { heap: self, depth: 0, at: root.segments[0], end: 0, done: root.top == 0 };
        blocks.end = blocks.segment_end();
        blocks
    }

    /// Where `address` lies, and the block before it (the one ending there, for `Start` and
    /// `Broken`).
    pub(super) fn place(self, address: u32) -> (Place, Option<Block>) {
        let mut blocks = self.blocks();
        let mut before = None;
        for b in blocks.by_ref() {
            if b.address == address {
                return (Place::Start(b), before);
            }
            if b.address + b.size > address {
                return (Place::Inside, before);
            }
            before = Some(b);
        }
        (if blocks.at == address { Place::Broken } else { Place::Unknown }, before)
    }

    /// The first block whose header is smashed (a used header whose tag does not match, a free
    /// one whose footer disagrees, or one where the walk stops short of the top), and the block
    /// before it.
    pub(super) fn first_smashed(self) -> Option<(u32, Option<Block>)> {
        let mut blocks = self.blocks();
        let mut before = None;
        for b in blocks.by_ref() {
            let smashed = match b.state {
                BlockState::Used => !self.is_live(b.ptr),
                BlockState::Free | BlockState::Binned => !self.is_free_block(b.address),
                _ => false,
            };
            if smashed {
                return Some((b.address, before));
            }
            before = Some(b);
        }
        // SAFETY: the root's borrow ends in the comparison.
        (blocks.at < unsafe { self.core.root() }.top).then_some((blocks.at, before))
    }

    fn used(self, address: u32, size: u32, depth: u32) -> Block {
        let ptr = address + HEADER;
        let request = block::tag_request_unchecked(self.core.mem.load(address + 4), size).wrapping_sub(EXTRA);
        // A corrupted header can claim any slack: read the stamp only inside the block.
        let (id, tag) = if request <= size - HEADER - EXTRA {
            let identity = self.identity(ptr, request);
            (identity.id, identity.tag)
        } else {
            (0, 0)
        };
        Block { address, size, state: BlockState::Used, depth, ptr, request, id, tag }
    }

    /// `check()` past the core's: every canary intact, the poison invariant kept. Reports the
    /// first problem and returns its code, or 0.
    pub(super) fn check_canaries_and_poison(self) -> u32 {
        for b in self.blocks() {
            match b.state {
                BlockState::Used if !self.canary_intact(b.ptr, b.request) => {
                    self.check_canary(b.ptr, b.request);
                    return BROKEN_CANARY;
                }
                BlockState::Free | BlockState::Binned
                    if !self.expect_poison(b.address + FREE_HEAD, b.address + b.size - 4) =>
                {
                    return BROKEN_POISON;
                }
                BlockState::Top if !self.expect_poison(b.address, state().high_water.min(b.address + b.size)) => {
                    return BROKEN_POISON;
                }
                _ => {}
            }
        }
        0
    }

    /// Checks the canaries of the used blocks in `[from, to)`, which a mark or `free_all` has just
    /// dropped; `controls` are the control blocks that lie there (the dropped segments' slots as
    /// they were before the call: dropping rewrites them). Returns the bytes their callers had
    /// requested.
    pub(super) fn walk_dropped(self, from: u32, to: u32, controls: &[u32]) -> u32 {
        let mem = self.core.mem;
        let (mut at, mut dropped) = (from, 0);
        while at < to {
            if controls.contains(&at) {
                at += CONTROL_SIZE;
                continue;
            }
            let header = mem.load(at);
            let size = header & SIZE_MASK;
            if size < MIN_BLOCK || size > to - at {
                break;
            }
            if header & FREE == 0 {
                let b = self.used(at, size, 0);
                if b.request <= size - HEADER - EXTRA {
                    self.check_canary(b.ptr, b.request);
                    dropped += b.request;
                }
            }
            at += size;
        }
        dropped
    }

    /// Writes the records of `Block`s with an address at least `from` (`live_only`: of the used
    /// ones, as 16-byte {ptr, size, id, tag}) at `out`, at most `max`. Returns how many.
    pub(super) fn write_blocks(self, from: u32, out: u32, max: u32, live_only: bool) -> u32 {
        let mut written = 0;
        for b in self.blocks() {
            if written == max {
                break;
            }
            let (key, record): (u32, &[u32]) = if live_only {
                (b.ptr, &[b.ptr, b.request, b.id, b.tag])
            } else {
                (b.address, &[b.address, b.size, b.state as u32, b.depth, b.ptr, b.request, b.id, b.tag])
            };
            if (live_only && b.state != BlockState::Used) || key < from {
                continue;
            }
            let at = out + written * record.len() as u32 * 4;
            for (i, word) in record.iter().enumerate() {
                self.store_unaligned(at + 4 * i as u32, *word);
            }
            written += 1;
        }
        written
    }
}

impl Blocks {
    /// Where the blocks of the segment at `self.depth` end: the next control block, or the top.
    fn segment_end(&self) -> u32 {
        self.heap.core.segment_end(self.depth)
    }
}

impl Iterator for Blocks {
    type Item = Block;

    // Once, not in every walk: the module is smaller.
    #[inline(never)]
    fn next(&mut self) -> Option<Block> {
        if self.done {
            return None;
        }
        let core = self.heap.core;
        let empty = Block {
            address: self.at,
            size: 0,
            state: BlockState::Top,
            depth: self.depth,
            ptr: 0,
            request: 0,
            id: 0,
            tag: 0,
        };
        // SAFETY: the root's borrow ends in the condition, before `segment_end` takes it.
        if self.at == self.end && self.depth < unsafe { core.root() }.depth {
            self.depth += 1;
            self.end = self.segment_end();
        }
        // SAFETY: `root` is last used in the condition below that picks a control block, before
        // `is_live` takes the root again.
        let root = unsafe { core.root() };
        if self.at == root.top {
            self.done = true;
            return Some(Block { size: root.end - root.top, depth: root.depth, ..empty });
        }
        let header = core.mem.load(self.at);
        let size = header & SIZE_MASK;
        if size < MIN_BLOCK || size > self.end - self.at {
            self.done = true;
            return None;
        }
        let address = self.at;
        // Segment 0's control block (the records' second part, in the module's statics right
        // below `__heap_base`) reaches to the heap's first block: up to 8 bytes of padding make
        // that block's payload 16-aligned.
        let size = if address == root.segments[0] { core.first() - address } else { size };
        self.at = address + size;
        let block = Block { address, size, depth: self.depth, ..empty };
        Some(if address == root.segments[slot(self.depth)] {
            Block { state: BlockState::Control, ..block }
        } else if header & FREE == 0 {
            if self.heap.is_live(address + HEADER) {
                self.heap.used(address, size, self.depth)
            } else {
                Block { state: BlockState::Used, ptr: address + HEADER, ..block }
            }
        } else if header & BINNED != 0 {
            Block { state: BlockState::Binned, ..block }
        } else {
            Block { state: BlockState::Free, ..block }
        })
    }
}
