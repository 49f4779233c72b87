//! Word access to the memory the heap lives in, by `u32` offset.
//!
//! In a wasm module the base is address 0, so an offset is the pointer itself. Native unit tests
//! put the heap in a host buffer and pass its address as the base.

/// Where the heap's offsets point: a base address, 0 in a wasm module. Word loads and stores by
/// offset, each O(1); its safety is [`Mem::new`]'s contract.
#[derive(Clone, Copy)]
pub struct Mem {
    base: usize,
}

impl Mem {
    /// Memory of the running wasm instance: offsets are addresses.
    #[cfg(target_arch = "wasm32")]
    pub const WASM: Mem = Mem { base: 0 };

    /// Memory whose offset 0 is at `base`. O(1).
    ///
    /// # Safety
    /// Every offset the heap will touch, `base + offset`, must be valid for reads and writes
    /// and 4-byte aligned when the offset is, for as long as the `Mem` is used.
    pub unsafe fn new(base: *mut u8) -> Mem {
        Mem { base: base as usize }
    }

    /// The address of `offset`, with the provenance `new`'s base exposed. O(1).
    #[inline(always)]
    pub fn ptr(self, offset: u32) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut(self.base + offset as usize)
    }

    /// The word at `offset` (4-aligned). O(1).
    #[inline(always)]
    pub fn load(self, offset: u32) -> u32 {
        debug_assert!(offset % 4 == 0);
        // Safety: `new`'s contract (or, in wasm, all of memory): the offset is valid and aligned.
        unsafe { *(self.ptr(offset) as *const u32) }
    }

    /// The word at `at + offset`, where the sum is known not to wrap: in wasm the constant
    /// `offset` folds into the load instruction's own offset field instead of costing an add.
    #[inline(always)]
    pub fn load_at(self, at: u32, offset: u32) -> u32 {
        debug_assert!(at.checked_add(offset).is_some() && (at + offset) % 4 == 0);
        // Safety: as for `load`; `at` and `at + offset` lie in the same block of memory.
        unsafe { *(self.ptr(at).add(offset as usize) as *const u32) }
    }

    /// Stores the word at `at + offset`; see [`Mem::load_at`].
    #[inline(always)]
    pub fn store_at(self, at: u32, offset: u32, value: u32) {
        debug_assert!(at.checked_add(offset).is_some() && (at + offset) % 4 == 0);
        // Safety: as for `load_at`.
        unsafe { *(self.ptr(at).add(offset as usize) as *mut u32) = value }
    }

    /// Stores the word at `offset` (4-aligned). O(1).
    #[inline(always)]
    pub fn store(self, offset: u32, value: u32) {
        debug_assert!(offset % 4 == 0);
        // Safety: as for `load`.
        unsafe { *(self.ptr(offset) as *mut u32) = value }
    }
}
