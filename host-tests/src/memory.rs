//! Reading and writing an [`Instance`]'s linear memory, and its limits.

use crate::{DEFAULT_CAP, Instance, Limiter};

impl<H> Instance<H> {
    /// Current size of linear memory in bytes.
    pub fn mem_size(&self) -> u32 {
        u32::try_from(self.memory.data_size(&self.store)).expect("memory below 4 GiB")
    }

    pub fn mem(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    pub fn mem_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    pub fn read(&self, ptr: u32, len: u32) -> &[u8] {
        &self.mem()[ptr as usize..ptr as usize + len as usize]
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) {
        let p = ptr as usize;
        self.mem_mut()[p..p + bytes.len()].copy_from_slice(bytes);
    }

    pub fn fill(&mut self, ptr: u32, len: u32, byte: u8) {
        let p = ptr as usize;
        self.mem_mut()[p..p + len as usize].fill(byte);
    }

    pub fn read_u32(&self, ptr: u32) -> u32 {
        u32::from_le_bytes(self.read(ptr, 4).try_into().unwrap())
    }

    pub fn write_u32(&mut self, ptr: u32, v: u32) {
        self.write(ptr, &v.to_le_bytes())
    }

    /// A copy of the whole linear memory.
    pub fn snapshot(&self) -> Vec<u8> {
        self.mem().to_vec()
    }

    // ---- limits ------------------------------------------------------------------------------

    pub fn limiter(&self) -> &Limiter {
        &self.store.data().limiter
    }

    pub fn limiter_mut(&mut self) -> &mut Limiter {
        &mut self.store.data_mut().limiter
    }

    /// Allows memory to grow up to `max_bytes` from now on.
    pub fn set_cap(&mut self, max_bytes: usize) {
        self.limiter_mut().max_bytes = max_bytes;
    }

    /// Refuses every further `memory.grow` (the cap becomes the current size).
    pub fn freeze_growth(&mut self) {
        let size = self.mem_size() as usize;
        self.set_cap(size);
    }

    /// Allows growth again, up to [`DEFAULT_CAP`].
    pub fn unfreeze_growth(&mut self) {
        self.set_cap(DEFAULT_CAP);
    }
}
