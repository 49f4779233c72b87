//! The debug layer's own state, in the module's static memory (outside the heap): the switches,
//! the counters, a ring of the last [`REPORTS`] problems and a ring of the last [`FREES`] frees
//! (which allocation a pointer or a byte of freed memory belonged to).

/// What a report is about. Numbers are part of the debug ABI (wasm/FLAVORS.md, section 9).
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum Code {
    /// `deallocate` of a pointer that is not live; detail: a [`Reason`].
    BadDeallocate = 1,
    /// `reallocate` of a pointer that is not live; detail: a [`Reason`].
    BadReallocate = 2,
    /// `free_to_mark` of a mark no longer in force; ptr: the mark.
    StaleMark = 3,
    /// The canary after an allocation's bytes changed; id: 0 when the overrun ran on into the id
    /// word; detail: the first changed byte.
    Overrun = 4,
    /// Freed memory changed; ptr, id: the freed allocation (0 when no longer known); detail: the
    /// first changed byte.
    WriteAfterFree = 5,
    /// The core's `check()` failed; ptr: the pointer of the first block whose header the layer
    /// finds smashed (0 if none), id: as for [`Reason::SmashedHeader`]; detail: the code.
    Corrupted = 6,
}

/// Why a pointer was refused.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum Reason {
    Misaligned = 1,
    /// Below the first block or at or above the top (a block given back to the top included,
    /// unless the ring of frees still knows it: then `AlreadyFree`).
    Outside = 2,
    /// Freed before (a double free): the ring of frees knows the pointer, or `ptr - 8` starts a
    /// free block (a free header whose footer agrees).
    AlreadyFree = 3,
    /// Inside the heap, but not the start of a live block: an interior or foreign pointer (or any
    /// pointer above a smashed header, where the walk of the blocks cannot go on).
    NotLive = 4,
    /// `ptr - 8` starts a block (the walk of the blocks reaches it) whose header was overwritten:
    /// an underrun of this block, or an overrun of the block before. id: the block before's, when
    /// its canary is broken too and its id word was not overwritten (else 0).
    SmashedHeader = 5,
}

pub const REPORTS: usize = 64;
pub const FREES: usize = 64;
/// Bytes of the scratch buffer a host may pass as `out` to the walks (`debug_buffer`).
pub const BUFFER_BYTES: usize = 4096;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Report {
    pub seq: u32,
    pub code: u32,
    pub ptr: u32,
    pub id: u32,
    pub detail: u32,
}

#[derive(Clone, Copy)]
struct Freed {
    ptr: u32,
    /// End of the block it had.
    end: u32,
    id: u32,
}

/// The debug layer's ledger: its switches (`trap`, `check_each`, `caller_tag`), the ids and byte
/// counts of the allocations, the ring of reports, the ring of frees, and the hosts' scratch
/// buffer for the walks.
pub struct Ledger {
    pub trap: u32,
    pub check_each: u32,
    pub caller_tag: u32,
    /// The last id given out.
    pub next_id: u32,
    /// The highest top memory came down from: `[top, high_water)` holds poison.
    pub high_water: u32,
    /// Bytes the callers asked for in live allocations, and their peak.
    pub live_bytes: u32,
    pub peak_live_bytes: u32,
    pub report_count: u32,
    reports: [Report; REPORTS],
    frees: u32,
    freed: [Freed; FREES],
    pub buffer: [u32; BUFFER_BYTES / 4],
}

/// The state at instantiation (all zero: it lives in the module's bss, `wasm::STATICS`).
pub const INITIAL: Ledger = Ledger {
    trap: 0,
    check_each: 0,
    caller_tag: 0,
    next_id: 0,
    high_water: 0,
    live_bytes: 0,
    peak_live_bytes: 0,
    report_count: 0,
    reports: [Report { seq: 0, code: 0, ptr: 0, id: 0, detail: 0 }; REPORTS],
    frees: 0,
    freed: [Freed { ptr: 0, end: 0, id: 0 }; FREES],
    buffer: [0; BUFFER_BYTES / 4],
};

/// The layer's state. The module is single-threaded and each call takes it afresh: callers do
/// not keep one borrow across a call that takes another.
pub fn state() -> &'static mut Ledger {
    let statics = &raw mut crate::flavors::wasm::STATICS;
    // Safety: one thread; see above.
    unsafe { &mut (*statics).debug }
}

impl Ledger {
    pub fn record(&mut self, code: Code, ptr: u32, id: u32, detail: u32) {
        let seq = self.report_count;
        self.reports[seq as usize % REPORTS] = Report { seq, code: code as u32, ptr, id, detail };
        self.report_count = seq.wrapping_add(1);
    }

    /// The report numbered `seq`, if the ring still holds it.
    pub fn report(&self, seq: u32) -> Option<Report> {
        let kept = self.report_count.saturating_sub(REPORTS as u32);
        (seq >= kept && seq < self.report_count).then(|| self.reports[seq as usize % REPORTS])
    }

    pub fn add_live(&mut self, bytes: u32) {
        self.live_bytes += bytes;
        self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
    }

    pub fn take_live(&mut self, bytes: u32) {
        self.live_bytes -= bytes;
    }

    pub fn raise_high_water(&mut self, top: u32) {
        self.high_water = self.high_water.max(top);
    }

    pub fn remember_freed(&mut self, ptr: u32, end: u32, id: u32) {
        self.freed[self.frees as usize % FREES] = Freed { ptr, end, id };
        self.frees = self.frees.wrapping_add(1);
    }

    /// Newest first.
    fn recent(&self) -> impl Iterator<Item = &Freed> {
        let kept = (self.frees as usize).min(FREES);
        (1..=kept).map(move |back| &self.freed[(self.frees as usize - back) % FREES])
    }

    /// The id of the allocation last freed at `ptr`, if the ring knows it.
    pub fn freed_id(&self, ptr: u32) -> Option<u32> {
        self.recent().find(|f| f.ptr == ptr && f.id != 0).map(|f| f.id)
    }

    /// The freed allocation whose block held the byte `at` last: (ptr, id), or (0, 0).
    pub fn freed_at(&self, at: u32) -> (u32, u32) {
        self.recent().find(|f| f.ptr - 8 <= at && at < f.end && f.id != 0).map_or((0, 0), |f| (f.ptr, f.id))
    }

    /// Forgets the frees inside `[from, to)`: marks dropped that memory, so the allocations that
    /// use it next are new ones.
    pub fn forget_freed(&mut self, from: u32, to: u32) {
        for f in self.freed.iter_mut().filter(|f| f.ptr >= from && f.ptr < to) {
            f.id = 0;
        }
    }
}
