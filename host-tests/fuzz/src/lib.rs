//! Fuzzing harness for the wasmheap core: an input decodes (with `arbitrary`) into a sequence of
//! heap operations, replayed against a heap in a host buffer and against a shadow model.
//!
//! After every operation the harness checks that:
//! - `verify()` is Ok;
//! - every live block keeps its contents, its alignment, its requested `size()`, lies inside the
//!   heap and inside the segment (mark level) the model says it belongs to, and no two live blocks
//!   (headers included) overlap;
//! - the statistics agree with the model: live blocks and bytes, peak, allocations, frees,
//!   reallocations, failures, rejected frees and marks, mark depth; the heap never grows past
//!   its buffer;
//! - a request that fits in the memory the pool can still give never fails, and a request that
//!   cannot succeed (too large, bad alignment, 255 marks deep) never succeeds;
//! - a pointer that is not live is rejected (`deallocate`, `reallocate`) and has `size()` 0;
//! - marks follow CONTRACT.md, "Marks": `free_to_mark` drops exactly the blocks allocated or moved
//!   after the mark, stale and bogus tokens are rejected, the floor rules of `free_all_mark` /
//!   `free_all` / `free_to_mark` below the floor hold; when the newest segment holds no live
//!   block, the top is right above its control block (memory is given back).
//!
//! The model predicts mark tokens exactly (`id << 8 | depth`, ids from the heap's clock: see
//! `src/marks.rs`), so that a bogus token that happens to be valid is judged correctly.
//!
//! User data is written so that every 8-aligned word has bit 2 (`RESERVED` in a header) set: an
//! interior pointer into written data is rejected by the cheap header filter, deterministically,
//! instead of by the 19-bit tag check (whose 2^-19 false positives are documented, not bugs).
//! Blocks allocated with `write: false` are left as the heap hands them out, so that stale heap
//! metadata inside them stays visible to bad pointers.

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use wasmheap::block::{HEADER, MAX_REQUEST, MIN_BLOCK, block_size};
use wasmheap::{CONTROL_SIZE, Heap, MAX_ALIGN, MAX_DEPTH, Mem, Pool, ROOT_SIZE, Stats};

/// Where the heap starts in its buffer.
pub const START: u32 = 8;
/// The largest buffer (and pool limit) an input can ask for.
pub const MAX_BUFFER: u32 = 8 << 20;
/// Total written bytes up to which every step checks every byte of every live block; above it a
/// step checks a window at each end of each block (the last step checks everything).
const FULL_CHECK_BYTES: u64 = 256 << 10;
const WINDOW: u32 = 1024;
/// Dead pointers and issued mark tokens kept for reuse by later operations.
const HISTORY: usize = 256;

// ---------------------------------------------------------------------------------------------
// The input

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Size of the buffer, which is also the pool's limit: see [`Input::buffer_len`].
    pub buffer: u16,
    /// The end passed to `ensure_init` (0 = grow at once).
    pub initial_end: u16,
    pub ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Alloc { size: Size, write: bool },
    AllocAligned { size: Size, align: Align, write: bool },
    /// Up to 32 allocations of the same size: fills memory quickly.
    AllocMany { count: u8, size: Size, write: bool },
    Dealloc(Ptr),
    Realloc { ptr: Ptr, size: Size, write: bool },
    Size(Ptr),
    /// Rewrites a live block with a new pattern.
    Write { block: u16, seed: u8 },
    GetMark,
    /// Up to 64 marks at once: reaches the depth limit (255) in a few operations.
    GetMarks(u8),
    ToMark(MarkRef),
    FreeAllMark,
    FreeAll,
    /// Changes the pool's limit: growth fails while it is below what a request needs.
    Limit(Limit),
    /// `ensure_init(end of memory + n)` on an initialised heap: must change nothing.
    Reinit(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Tiny(u8),
    Small(u16),
    Medium(u32),
    Large(u32),
    /// `u32::MAX - n`
    NearMax(u16),
    /// `MAX_REQUEST + n` (wrapping)
    AroundMaxRequest(i16),
    /// `2^shift + delta` (wrapping)
    Pow2 { shift: u8, delta: i8 },
    Raw(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `2^(n % 17)`: 1 to 65536, all valid.
    Valid(u8),
    /// `2^(17 + n % 15)`: too large.
    TooLarge(u8),
    /// Any value (mostly not a power of two).
    Raw(u32),
    Zero,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ptr {
    /// A live block (index into the live blocks in address order).
    Live(u16),
    /// A pointer that was live once: freed, released by a mark, moved by `reallocate`.
    Dead(u16),
    /// Inside a live block: `offset % max(request, 1) + 1` bytes past its start.
    Interior { block: u16, offset: u16 },
    /// An interior pointer rounded to 8: where a stale header could be.
    InteriorAligned { block: u16, words: u16 },
    /// A live block's pointer plus 1 to 7.
    Misaligned { block: u16, by: u8 },
    /// Before a live block's payload: its header (words = 1), or further back.
    Header { block: u16, words: u8 },
    /// Just past a live block's request.
    PastEnd(u16),
    /// A segment's control block payload (index = depth).
    Control(u8),
    /// Heap landmarks: start, base, top, end, buffer end, `u32::MAX`...
    Special(u8),
    Foreign(u32),
    Null,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkRef {
    /// A token the heap returned (valid or used up).
    Issued(u16),
    /// The newest token issued.
    Newest,
    /// An issued token with some bits flipped.
    Tweak { mark: u16, xor: u32 },
    /// A token whose depth byte is right but whose id is the given one.
    AtDepth { depth: u8, id: u32 },
    Bogus(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The current end: no growth at all.
    Freeze,
    /// `n` 64 KiB pages (capped at the buffer).
    Pages(u8),
    /// Any byte count up to the buffer.
    Bytes(u32),
    /// The whole buffer again.
    Restore,
}

impl Input {
    /// 4 KiB to 68 KiB in steps of 8 (one input in 8), else 64 KiB to 8 MiB in 64 KiB steps.
    pub fn buffer_len(&self) -> u32 {
        let b = self.buffer as u32;
        if b.is_multiple_of(8) { 4096 + (b >> 3) * 8 } else { ((b >> 3) % 128 + 1) * 65536 }
    }

    pub fn initial_end(&self) -> u32 {
        (self.initial_end as u32 * 64) % (self.buffer_len() + 1)
    }
}

impl Size {
    pub fn value(self) -> u32 {
        match self {
            Size::Tiny(n) => n as u32 % 65,
            Size::Small(n) => n as u32 % 2049,
            Size::Medium(n) => n % (1 << 17),
            Size::Large(n) => n % (1 << 24),
            Size::NearMax(n) => u32::MAX - n as u32,
            Size::AroundMaxRequest(d) => MAX_REQUEST.wrapping_add(d as i32 as u32),
            Size::Pow2 { shift, delta } => (1u32 << (shift % 32)).wrapping_add(delta as i32 as u32),
            Size::Raw(n) => n,
        }
    }
}

impl Align {
    pub fn value(self) -> u32 {
        match self {
            Align::Valid(n) => 1 << (n % 17),
            Align::TooLarge(n) => 1 << (17 + n % 15),
            Align::Raw(n) => n,
            Align::Zero => 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fill pattern

/// The 8 bytes at word `k` of a block written with `seed`. Bit 2 is always set (see the top).
fn word(seed: u8, k: u32) -> u64 {
    let x = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 29)) | 4
}

// ---------------------------------------------------------------------------------------------
// The model

#[derive(Clone, Copy, Debug)]
struct Block {
    request: u32,
    align: u32,
    /// The segment the block lives in.
    depth: u32,
    seed: u8,
    /// The first `filled` bytes hold the pattern of `seed`.
    filled: u32,
}

#[derive(Clone, Copy, Debug)]
struct Segment {
    id: u32,
    /// Offset of its control block.
    control: u32,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Counters {
    allocations: u32,
    frees: u32,
    reallocations: u32,
    failures: u32,
    rejected_frees: u32,
    rejected_marks: u32,
    peak_live_bytes: u32,
}

/// How a run treats known problems.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Skip the operations that trigger a known open bug (listed at [`Harness::known_bug`]), so
    /// that a campaign goes on past it instead of stopping at the first input that finds it.
    pub avoid_known_bugs: bool,
}

impl Options {
    /// `WASMHEAP_FUZZ_AVOID_KNOWN=1` sets `avoid_known_bugs`.
    pub fn from_env() -> Options {
        Options { avoid_known_bugs: std::env::var_os("WASMHEAP_FUZZ_AVOID_KNOWN").is_some_and(|v| v == "1") }
    }
}

pub struct Harness {
    _buffer: Vec<u64>,
    base: *mut u8,
    buffer_len: u32,
    limit: u32,
    live: BTreeMap<u32, Block>,
    live_bytes: u64,
    dead: Vec<u32>,
    segments: Vec<Segment>,
    floor: u32,
    clock: u32,
    tokens: Vec<u32>,
    counters: Counters,
    /// `memory_grows` and the end of memory after the last check: neither goes down.
    memory_grows: u32,
    end: u32,
    seeds: u8,
    avoid_known_bugs: bool,
    step: usize,
}

/// What a step expects of an allocation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Succeed,
    Fail,
    Either,
}

/// Bytes to skip from a block at `at` so that its payload is `align`-aligned (as the heap does).
fn aligned_gap(at: u32, align: u32) -> u64 {
    let align = align.max(HEADER) as u64;
    let payload = at as u64 + HEADER as u64;
    let mut gap = payload.wrapping_neg() & (align - 1);
    if gap != 0 && gap < MIN_BLOCK as u64 {
        gap += align;
    }
    gap
}

impl Harness {
    /// A heap in a fresh buffer, or `None` when the buffer cannot hold the heap's own records
    /// (then `ensure_init` must have said so).
    pub fn new(input: &Input, options: Options) -> Option<Harness> {
        let buffer_len = input.buffer_len();
        let mut buffer = vec![0u64; buffer_len as usize / 8];
        let base = buffer.as_mut_ptr() as *mut u8;
        let mut h = Harness {
            _buffer: buffer,
            base,
            buffer_len,
            limit: buffer_len,
            live: BTreeMap::new(),
            live_bytes: 0,
            dead: Vec::new(),
            segments: vec![Segment { id: 1, control: START + ROOT_SIZE }],
            floor: 0,
            clock: 1,
            tokens: Vec::new(),
            counters: Counters::default(),
            memory_grows: 0,
            end: 0,
            seeds: 0,
            avoid_known_bugs: options.avoid_known_bugs,
            step: 0,
        };
        let needed = START + ROOT_SIZE + CONTROL_SIZE;
        let ok = h.heap().ensure_init(input.initial_end());
        assert_eq!(ok, needed <= buffer_len, "ensure_init({}) in a buffer of {buffer_len}", input.initial_end());
        if !ok {
            return None;
        }
        h.check(true);
        Some(h)
    }

    fn heap(&self) -> Heap<Pool> {
        unsafe { Heap::new(Mem::new(self.base), START, Pool { limit: self.limit }) }
    }

    fn first_payload(&self) -> u32 {
        START + ROOT_SIZE + CONTROL_SIZE + HEADER
    }

    fn depth(&self) -> u32 {
        self.segments.len() as u32 - 1
    }

    // ---- memory ----

    fn fill(&mut self, p: u32, len: u32, seed: u8) {
        assert!(p as u64 + len as u64 <= self.buffer_len as u64);
        unsafe {
            let at = self.base.add(p as usize);
            for k in 0..len / 8 {
                (at.add(k as usize * 8) as *mut u64).write(word(seed, k));
            }
            let tail = word(seed, len / 8).to_le_bytes();
            for i in (len & !7)..len {
                *at.add(i as usize) = tail[(i & 7) as usize];
            }
        }
    }

    /// Checks bytes `from..to` of the block at `p` against its pattern.
    fn check_bytes(&self, p: u32, b: &Block, from: u32, to: u32) {
        let to = to.min(b.filled);
        if from >= to {
            return;
        }
        let (w0, w1) = (from.div_ceil(8), to / 8);
        if w0 >= w1 {
            return self.check_bytes_slowly(p, b, from, to);
        }
        // whole words first, with one comparison at the end (the fuzz build traces every one)
        let mut diff = 0u64;
        for k in w0..w1 {
            diff |= unsafe { (self.base.add(p as usize + k as usize * 8) as *const u64).read() } ^ word(b.seed, k);
        }
        if diff != 0 {
            self.check_bytes_slowly(p, b, w0 * 8, w1 * 8);
        }
        self.check_bytes_slowly(p, b, from, w0 * 8);
        self.check_bytes_slowly(p, b, w1 * 8, to);
    }

    /// Byte by byte, naming the first byte that differs.
    fn check_bytes_slowly(&self, p: u32, b: &Block, from: u32, to: u32) {
        for i in from..to {
            let got = unsafe { *self.base.add(p as usize + i as usize) };
            let expect = word(b.seed, i / 8).to_le_bytes()[(i & 7) as usize];
            assert_eq!(got, expect, "step {}: byte {i} of the live block {p:#x} ({b:?}) was overwritten", self.step);
        }
    }

    fn write_new(&mut self, p: u32, request: u32, write: bool) -> (u8, u32) {
        self.seeds = self.seeds.wrapping_add(1);
        let seed = self.seeds;
        if write {
            self.fill(p, request, seed);
            (seed, request)
        } else {
            (seed, 0)
        }
    }

    // ---- model helpers ----

    fn stats(&self) -> Stats {
        self.heap().stats()
    }

    /// Whether memory up to `new_top` can be had: it is there already, or the pool gives it.
    fn fits(&self, s: &Stats, new_top: u64) -> bool {
        let end = (s.heap_start + s.heap_bytes) as u64;
        new_top <= end || new_top <= self.limit as u64
    }

    fn expect_allocation(&self, s: &Stats, request: u32, align: u32) -> Expect {
        let Some(size) = block_size(request) else { return Expect::Fail };
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Expect::Fail;
        }
        let new_top = s.heap_top as u64 + aligned_gap(s.heap_top, align) + size as u64;
        if self.fits(s, new_top) { Expect::Succeed } else { Expect::Either }
    }

    fn note_dead(&mut self, p: u32) {
        if self.dead.len() == HISTORY {
            self.dead.remove(0);
        }
        self.dead.push(p);
    }

    fn note_token(&mut self, t: u32) {
        if self.tokens.len() == HISTORY {
            self.tokens.remove(0);
        }
        self.tokens.push(t);
    }

    fn add_live(&mut self, p: u32, block: Block) {
        let old = self.live.insert(p, block);
        assert!(old.is_none(), "step {}: {p:#x} handed out while live ({old:?})", self.step);
        self.live_bytes += block.request as u64;
        self.counters.peak_live_bytes = self.counters.peak_live_bytes.max(self.live_bytes as u32);
    }

    fn remove_live(&mut self, p: u32) -> Block {
        let b = self.live.remove(&p).unwrap();
        self.live_bytes -= b.request as u64;
        self.note_dead(p);
        b
    }

    /// Drops the blocks of segments `depth` and above; they must be gone from the heap.
    fn drop_blocks_from(&mut self, depth: u32) {
        let dropped: Vec<u32> = self.live.iter().filter(|(_, b)| b.depth >= depth).map(|(&p, _)| p).collect();
        for p in dropped {
            self.remove_live(p);
            assert_eq!(self.heap().size(p), 0, "step {}: {p:#x} still live after its segment was released", self.step);
        }
    }

    fn nth_live(&self, i: u16) -> Option<(u32, Block)> {
        if self.live.is_empty() {
            return None;
        }
        self.live.iter().nth(i as usize % self.live.len()).map(|(&p, &b)| (p, b))
    }

    fn resolve(&self, ptr: Ptr) -> u32 {
        let live = |i: u16| self.nth_live(i);
        match ptr {
            Ptr::Live(i) => live(i).map_or(0, |(p, _)| p),
            Ptr::Dead(i) => {
                if self.dead.is_empty() { 0 } else { self.dead[i as usize % self.dead.len()] }
            }
            Ptr::Interior { block, offset } => {
                live(block).map_or(0, |(p, b)| p + offset as u32 % b.request.max(1) + 1)
            }
            Ptr::InteriorAligned { block, words } => {
                live(block).map_or(0, |(p, b)| p + 8 * (words as u32 % (b.request / 8 + 1) + 1))
            }
            Ptr::Misaligned { block, by } => live(block).map_or(0, |(p, _)| p + by as u32 % 7 + 1),
            Ptr::Header { block, words } => live(block).map_or(0, |(p, _)| p.saturating_sub(8 * (words as u32 % 4 + 1))),
            Ptr::PastEnd(i) => live(i).map_or(0, |(p, b)| p + b.request),
            Ptr::Control(d) => self.segments[d as usize % self.segments.len()].control + HEADER,
            Ptr::Special(k) => {
                let s = self.stats();
                let end = s.heap_start + s.heap_bytes;
                [
                    START,
                    START + ROOT_SIZE,
                    START + ROOT_SIZE + HEADER,
                    self.first_payload(),
                    s.heap_top,
                    s.heap_top - 8,
                    s.heap_top + 8,
                    end,
                    end - 8,
                    self.buffer_len,
                    u32::MAX,
                    0xFFFF_FFF8,
                    0x8000_0000,
                    8,
                    4,
                    1,
                ][k as usize % 16]
            }
            Ptr::Foreign(x) => x,
            Ptr::Null => 0,
        }
    }

    fn resolve_mark(&self, mark: MarkRef) -> u32 {
        let issued = |i: u16| if self.tokens.is_empty() { 0 } else { self.tokens[i as usize % self.tokens.len()] };
        match mark {
            MarkRef::Issued(i) => issued(i),
            MarkRef::Newest => self.tokens.last().copied().unwrap_or(0),
            MarkRef::Tweak { mark, xor } => issued(mark) ^ xor,
            MarkRef::AtDepth { depth, id } => (id << 8) | (depth as u32 % (self.depth() + 2)),
            MarkRef::Bogus(x) => x,
        }
    }

    /// The token the model says is valid for the segment at `depth`.
    fn token(&self, depth: u32) -> u32 {
        (self.segments[depth as usize].id & 0xFF_FFFF) << 8 | depth
    }

    // ---- operations ----

    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Alloc { size, write } => self.allocate(size.value(), None, write),
            Op::AllocAligned { size, align, write } => self.allocate(size.value(), Some(align.value()), write),
            Op::AllocMany { count, size, write } => {
                for _ in 0..count % 33 {
                    self.allocate(size.value(), None, write);
                }
            }
            Op::Dealloc(ptr) => self.deallocate(self.resolve(ptr)),
            Op::Realloc { ptr, size, write } => self.reallocate(self.resolve(ptr), size.value(), write),
            Op::Size(ptr) => {
                let p = self.resolve(ptr);
                let expect = self.live.get(&p).map_or(0, |b| b.request);
                assert_eq!(self.heap().size(p), expect, "step {}: size({p:#x})", self.step);
            }
            Op::Write { block, seed } => {
                if let Some((p, b)) = self.nth_live(block) {
                    self.fill(p, b.request, seed);
                    let b = self.live.get_mut(&p).unwrap();
                    (b.seed, b.filled) = (seed, b.request);
                }
            }
            Op::GetMark => self.get_mark(),
            Op::GetMarks(n) => {
                for _ in 0..n % 65 {
                    self.get_mark();
                }
            }
            Op::ToMark(mark) => self.free_to_mark(self.resolve_mark(mark)),
            Op::FreeAllMark => self.free_all_mark(),
            Op::FreeAll => self.free_all(),
            Op::Limit(limit) => {
                let s = self.stats();
                self.limit = match limit {
                    Limit::Freeze => s.heap_start + s.heap_bytes,
                    Limit::Pages(n) => (n as u32 * 65536).min(self.buffer_len),
                    Limit::Bytes(n) => n % (self.buffer_len + 1),
                    Limit::Restore => self.buffer_len,
                };
            }
            Op::Reinit(more) => {
                // as the module does on every call: the end of memory, which never shrinks
                let before = self.stats();
                let end = (before.heap_start + before.heap_bytes).saturating_add(more as u32).min(self.buffer_len);
                assert!(self.heap().ensure_init(end), "step {}: ensure_init on a live heap", self.step);
                assert_eq!(self.stats(), before, "step {}: ensure_init changed an initialised heap", self.step);
            }
        }
    }

    fn allocate(&mut self, request: u32, align: Option<u32>, write: bool) {
        let s = self.stats();
        let expect = self.expect_allocation(&s, request, align.unwrap_or(HEADER));
        let p = match align {
            None => self.heap().allocate(request),
            Some(a) => self.heap().allocate_aligned(request, a),
        };
        self.after_allocation(p, request, align.unwrap_or(HEADER), expect, write);
    }

    fn after_allocation(&mut self, p: u32, request: u32, align: u32, expect: Expect, write: bool) {
        if p == 0 {
            assert_ne!(expect, Expect::Succeed, "step {}: allocation of {request} (align {align}) failed but fits", self.step);
            self.counters.failures += 1;
            return;
        }
        assert_ne!(expect, Expect::Fail, "step {}: allocation of {request} (align {align}) cannot succeed: {p:#x}", self.step);
        self.counters.allocations += 1;
        self.place_new(p, request, align, write);
    }

    /// Records a block the heap just handed out (in the newest segment) and writes it.
    fn place_new(&mut self, p: u32, request: u32, align: u32, write: bool) {
        let step = self.step;
        assert!(p.is_multiple_of(align.max(HEADER)), "step {step}: {p:#x} not aligned to {align}");
        assert!(p as u64 + request as u64 <= self.stats().heap_top as u64, "step {step}: {p:#x}+{request} past the top");
        let (seed, filled) = self.write_new(p, request, write);
        let depth = self.depth();
        self.add_live(p, Block { request, align, depth, seed, filled });
    }

    fn deallocate(&mut self, p: u32) {
        let was_live = self.live.contains_key(&p);
        self.heap().deallocate(p);
        if p == 0 {
            return;
        }
        if was_live {
            self.remove_live(p);
            self.counters.frees += 1;
            assert_eq!(self.heap().size(p), 0, "step {}: {p:#x} still live after deallocate", self.step);
        } else {
            self.counters.rejected_frees += 1;
            self.note_dead(p);
        }
    }

    fn reallocate(&mut self, p: u32, request: u32, write: bool) {
        if p == 0 {
            let s = self.stats();
            let expect = self.expect_allocation(&s, request, HEADER);
            let q = self.heap().reallocate(0, request);
            self.after_allocation(q, request, HEADER, expect, write);
            return;
        }
        let Some(&old) = self.live.get(&p) else {
            let q = self.heap().reallocate(p, request);
            assert_eq!(q, 0, "step {}: reallocate({p:#x}) of a pointer that is not live", self.step);
            self.counters.rejected_frees += 1;
            self.note_dead(p);
            return;
        };
        let s = self.stats();
        let expect = match block_size(request) {
            None => Expect::Fail,
            Some(size) if size <= block_size(old.request).unwrap() => Expect::Succeed,
            Some(size) if self.fits(&s, s.heap_top as u64 + size as u64) => Expect::Succeed,
            Some(_) => Expect::Either,
        };
        let q = self.heap().reallocate(p, request);
        let step = self.step;
        if q == 0 {
            assert_ne!(expect, Expect::Succeed, "step {step}: reallocate({p:#x}, {request}) failed but fits");
            self.counters.failures += 1;
            return; // the block must be untouched: the checks after the step see to it
        }
        assert_ne!(expect, Expect::Fail, "step {step}: reallocate({p:#x}, {request}) cannot succeed: {q:#x}");
        self.counters.reallocations += 1;
        let kept = old.filled.min(request);
        self.live.remove(&p);
        self.live_bytes -= old.request as u64;
        if q != p {
            self.note_dead(p);
        }
        let depth = if q == p { old.depth } else { self.depth() };
        assert!(q.is_multiple_of(HEADER), "step {step}: reallocate gave a misaligned {q:#x}");
        assert!(q as u64 + request as u64 <= self.stats().heap_top as u64, "step {step}: {q:#x}+{request} past the top");
        let kept_block = Block { request, align: HEADER, depth, seed: old.seed, filled: kept };
        self.check_bytes(q, &kept_block, 0, kept);
        let block = if write {
            let (seed, filled) = self.write_new(q, request, true);
            Block { seed, filled, ..kept_block }
        } else {
            kept_block
        };
        self.add_live(q, block);
    }

    /// Expected outcome of pushing a segment (a mark or a floor).
    fn can_push(&self, s: &Stats) -> bool {
        self.depth() < MAX_DEPTH && self.fits(s, s.heap_top as u64 + CONTROL_SIZE as u64)
    }

    fn push(&mut self, control: u32) {
        self.clock += 1;
        self.segments.push(Segment { id: self.clock, control });
    }

    fn get_mark(&mut self) {
        let s = self.stats();
        let (expect, control) = (self.can_push(&s), s.heap_top);
        let m = self.heap().free_get_mark();
        if !expect {
            assert_eq!(m, 0, "step {}: free_get_mark at depth {} beyond what the pool gives", self.step, self.depth());
            self.counters.failures += 1;
            return;
        }
        self.push(control);
        assert_eq!(m, self.token(self.depth()), "step {}: free_get_mark token", self.step);
        self.note_token(m);
    }

    fn free_to_mark(&mut self, m: u32) {
        let d = m & 0xFF;
        let valid = d != 0 && d <= self.depth() && self.token(d) == m;
        self.heap().free_to_mark(m);
        if !valid {
            self.counters.rejected_marks += 1;
            return;
        }
        if d > self.floor {
            self.segments.truncate(d as usize);
            self.drop_blocks_from(d);
        } else {
            // the floor comes down to the mark's segment, emptied
            self.segments.truncate(d as usize + 1);
            self.empty_newest();
            self.floor = d;
        }
    }

    fn empty_newest(&mut self) {
        self.drop_blocks_from(self.depth());
        self.clock += 1;
        self.segments.last_mut().unwrap().id = self.clock;
    }

    fn free_all(&mut self) {
        self.heap().free_all();
        self.segments.truncate(self.floor as usize + 1);
        self.empty_newest();
    }

    fn free_all_mark(&mut self) {
        let newest_is_empty_floor =
            self.depth() == self.floor && self.live.values().all(|b| b.depth != self.depth());
        let s = self.stats();
        let (expect, control) = (self.can_push(&s), s.heap_top);
        self.heap().free_all_mark();
        if newest_is_empty_floor {
            return;
        }
        if expect {
            self.push(control);
            self.floor = self.depth();
        } else {
            self.counters.failures += 1;
        }
    }

    // ---- checks ----

    /// Everything the model knows, compared with the heap. `full`: every byte of every block.
    pub fn check(&mut self, full: bool) {
        let step = self.step;
        let heap = self.heap();
        if let Err(broken) = heap.verify() {
            panic!("step {step}: verify() = {broken:?}");
        }
        let s = heap.stats();
        let end = s.heap_start as u64 + s.heap_bytes as u64;
        assert!(end <= self.buffer_len as u64, "step {step}: the heap grew past its buffer: {s:?}");
        assert!(s.heap_top as u64 <= end && s.heap_start == START, "step {step}: {s:?}");
        assert!(s.free_bytes <= s.heap_bytes && s.largest_free <= s.free_bytes, "step {step}: {s:?}");
        assert!(s.memory_grows >= self.memory_grows && end >= self.end as u64, "step {step}: memory shrank: {s:?}");
        (self.memory_grows, self.end) = (s.memory_grows, end as u32);
        let model = Counters {
            allocations: s.allocations,
            frees: s.frees,
            reallocations: s.reallocations,
            failures: s.failures,
            rejected_frees: s.rejected_frees,
            rejected_marks: s.rejected_marks,
            peak_live_bytes: s.peak_live_bytes,
        };
        assert_eq!(model, self.counters, "step {step}: counters (left: heap, right: model)");
        assert_eq!(
            (s.live_blocks as usize, s.live_bytes as u64, s.mark_depth),
            (self.live.len(), self.live_bytes, self.depth()),
            "step {step}: live blocks, live bytes, mark depth (left: heap, right: model)"
        );

        // where each segment ends: the next one's control block, or the top
        let segment_end = |d: u32| {
            self.segments.get(d as usize + 1).map_or(s.heap_top, |next| next.control)
        };
        let newest = self.depth();
        let newest_empty = self.live.values().all(|b| b.depth != newest);
        assert_eq!(
            newest_empty,
            s.heap_top == self.segments[newest as usize].control + CONTROL_SIZE,
            "step {step}: the newest segment is empty iff the top is right above its control block: {s:?}"
        );

        let full = full || self.live.values().map(|b| b.filled as u64).sum::<u64>() <= FULL_CHECK_BYTES;
        let mut prev_end = self.first_payload() as u64 - HEADER as u64;
        for (&p, b) in &self.live {
            let seg = self.segments[b.depth as usize];
            assert!(p % b.align.max(HEADER) == 0, "step {step}: {p:#x} lost its alignment {}", b.align);
            assert!(
                p - HEADER >= seg.control + CONTROL_SIZE && p as u64 + b.request as u64 <= segment_end(b.depth) as u64,
                "step {step}: {p:#x} ({b:?}) outside its segment"
            );
            assert!(p as u64 - HEADER as u64 >= prev_end, "step {step}: {p:#x} overlaps the block below");
            prev_end = p as u64 + b.request as u64;
            assert_eq!(heap.size(p), b.request, "step {step}: size({p:#x})");
            if full || b.filled <= 2 * WINDOW {
                self.check_bytes(p, b, 0, b.filled);
            } else {
                self.check_bytes(p, b, 0, WINDOW);
                self.check_bytes(p, b, b.filled - WINDOW, b.filled);
            }
        }
    }

    /// Runs the operations; returns how many were skipped as triggers of known bugs.
    pub fn run(&mut self, ops: &[Op]) -> usize {
        let mut skipped = 0;
        for (i, op) in ops.iter().enumerate() {
            self.step = i;
            if self.avoid_known_bugs && self.known_bug(op) {
                skipped += 1;
                continue;
            }
            self.apply(op);
            self.check(false);
        }
        self.check(true);
        // everything can be freed, in any order, wherever it lives
        self.step = ops.len();
        let all: Vec<u32> = self.live.keys().copied().collect();
        for p in all.into_iter().rev() {
            self.deallocate(p);
        }
        self.check(true);
        skipped
    }

    /// Whether `op` triggers a known open bug. Each entry names its regression test in
    /// `src/tests.rs`; remove it once that test passes.
    pub fn known_bug(&self, op: &Op) -> bool {
        // None open. An entry looks like (fixed in fed1c8f, regression
        // huge_aligned_request_does_not_wrap_the_search):
        //     Op::AllocAligned { size, align, .. } => size + align + MIN_BLOCK wraps,
        let _ = op;
        false
    }
}

/// Runs one input; returns how many operations were skipped as triggers of known bugs.
pub fn run(input: &Input, options: Options) -> usize {
    match Harness::new(input, options) {
        Some(mut h) => h.run(&input.ops),
        None => 0,
    }
}

/// Runs raw fuzzer bytes, as the libFuzzer target does.
pub fn run_bytes(data: &[u8], options: Options) {
    let u = arbitrary::Unstructured::new(data);
    if let Ok(input) = <Input as Arbitrary>::arbitrary_take_rest(u) {
        run(&input, options);
    }
}

pub mod encode;
pub mod seeds;
