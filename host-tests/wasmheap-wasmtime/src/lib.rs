//! Give the memory of a wasmheap instance back to the operating system after a spike, from a
//! wasmtime host.
//!
//! Linear memory never shrinks: after a burst of allocation an instance keeps its pages resident
//! for its whole life. wasmheap's `discardable` export lists the page-aligned ranges inside its
//! free blocks and above its top that it promises not to read or write until it hands them out
//! again (`src/core/discard.rs`, CONTRACT.md "Discardable pages"); wasmtime keeps linear memory
//! in an mmap, so [`discard_free_pages`] drops those pages with `madvise(MADV_DONTNEED)`. They
//! read as zero (or as the module's initial image) afterwards, which the heap does not mind, and
//! come back, zero, when the heap hands them out again.
//!
//! ```no_run
//! # fn demo(mut store: wasmtime::Store<()>, instance: wasmtime::Instance) -> wasmtime::Result<()> {
//! // after a spike, when the instance is idle:
//! let bytes = wasmheap_wasmtime::discard_free_pages(&mut store, &instance)?;
//! println!("gave {} KiB back", bytes / 1024);
//! # Ok(())
//! # }
//! ```

use wasmtime::error::Context;
use wasmtime::{AsContextMut, Extern, Instance, Memory};
use wasmtime::{Result, bail, format_err};

/// Records of 8 bytes that one `discardable` call writes: the listing resumes while it is full.
const RECORDS: u32 = 256;

/// Asks the wasmheap `instance` which pages of its exported `memory` it will not touch until it
/// hands them out again, and drops them with `madvise(MADV_DONTNEED)`, at the host's page size.
/// Returns the bytes dropped (pages that were never resident count too: the OS does not say).
///
/// Errors, with nothing changed: an instance without the `discardable` export (not wasmheap, or
/// its tiny flavor; the debug flavor lists nothing and returns 0), without an exported `memory`
/// (the import-memory flavor: the memory is the embedder's, use [`discard_free_pages_in`]), a
/// shared memory (other threads may use it), a memory that is not its own mmap (a host memory
/// from a `MemoryCreator` whose base is not page-aligned, or, on Linux, that lies in the brk heap
/// or a stack), and a platform other than Linux and macOS. A trap of the instance is an error
/// too. Costs one `allocate` of 2 KiB for the listing (freed again) and O(blocks) in the guest.
pub fn discard_free_pages(mut store: impl AsContextMut, instance: &Instance) -> Result<u64> {
    let memory = match instance.get_export(&mut store, "memory") {
        Some(Extern::Memory(memory)) => memory,
        Some(Extern::SharedMemory(_)) => bail!(
            "the instance's memory is shared: another thread may be using the pages, and the heap's \
             promise holds for one thread only; nothing was discarded"
        ),
        _ => bail!("the instance exports no `memory` (an imported memory: use discard_free_pages_in)"),
    };
    discard_free_pages_in(store, instance, memory)
}

/// [`discard_free_pages`] for an instance whose heap lives in `memory`, which it need not export
/// (the import-memory flavor: the heap's region of the embedder's memory).
pub fn discard_free_pages_in(mut store: impl AsContextMut, instance: &Instance, memory: Memory) -> Result<u64> {
    let mut store = store.as_context_mut();
    let not_wasmheap = |name: &'static str| {
        move |e: wasmtime::Error| format_err!("not a wasmheap instance (no `{name}` export of the raw ABI): {e}")
    };
    let discardable = instance
        .get_typed_func::<(u32, u32, u32, u32), u32>(&mut store, "discardable")
        .map_err(not_wasmheap("discardable"))?;
    let allocate = instance.get_typed_func::<u32, u32>(&mut store, "allocate").map_err(not_wasmheap("allocate"))?;
    let deallocate =
        instance.get_typed_func::<u32, ()>(&mut store, "deallocate").map_err(not_wasmheap("deallocate"))?;
    let page = os::page_size()?;
    let base = memory.data_ptr(&store) as usize;
    os::check_own_mapping(base, memory.data_size(&store), page)?;

    let out = allocate.call(&mut store, 8 * RECORDS).context("allocate for the listing")?;
    if out == 0 {
        bail!("the heap could not allocate the {} bytes of the listing", 8 * RECORDS);
    }
    let listed = list(&mut store, &discardable, memory, out, page);
    deallocate.call(&mut store, out).context("deallocate the listing")?;
    let ranges = listed?;
    // The memory cannot have moved: nothing grew it since the listing.
    debug_assert_eq!(base, memory.data_ptr(&store) as usize);
    let mut bytes = 0u64;
    for (start, len) in ranges {
        // SAFETY: `[start, start + len)` lies inside the memory (the heap lists only what it
        // manages, below the end of memory), page-aligned at the host's page size, in a mapping
        // of the memory's own (checked above); its bytes are pages the heap will neither read nor
        // write until it hands them out again, and no guest code runs while the store is
        // borrowed here. Dropping them makes them read as zero or as the initial image.
        unsafe { os::discard(base + start as usize, len as usize)? };
        bytes += len as u64;
    }
    Ok(bytes)
}

/// Every range the heap lists at `page`, through the block at `out`.
fn list(
    mut store: impl AsContextMut,
    discardable: &wasmtime::TypedFunc<(u32, u32, u32, u32), u32>,
    memory: Memory,
    out: u32,
    page: u32,
) -> Result<Vec<(u32, u32)>> {
    let (mut ranges, mut from) = (Vec::new(), 0u32);
    loop {
        let n = discardable.call(&mut store, (from, page, out, RECORDS)).context("discardable")?;
        if n > RECORDS {
            bail!("discardable({from:#x}, {page}) returned {n}: the heap refused the host's page size");
        }
        let data = memory.data(&store);
        for i in 0..n as usize {
            let at = out as usize + 8 * i;
            let word = |k: usize| u32::from_le_bytes(data[at + k..at + k + 4].try_into().unwrap());
            let (start, len) = (word(0), word(4));
            let end = start.checked_add(len).filter(|&end| end as usize <= data.len() && start >= from);
            let Some(end) = end.filter(|_| start % page == 0 && len % page == 0) else {
                bail!("discardable listed {start:#x}+{len:#x}: not whole pages inside memory, in order");
            };
            ranges.push((start, len));
            from = end;
        }
        if n < RECORDS {
            return Ok(ranges);
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
mod os {
    use wasmtime::{Result, bail};

    pub fn page_size() -> Result<u32> {
        // SAFETY: sysconf reads a constant of the system.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        match u32::try_from(page) {
            Ok(page) if page.is_power_of_two() => Ok(page),
            _ => bail!("sysconf(_SC_PAGESIZE) = {page}"),
        }
    }

    /// The memory must be a mapping of its own: page-aligned, and on Linux neither in the brk
    /// heap nor on a stack (`/proc/self/maps`), where dropping pages could hit another owner's.
    pub fn check_own_mapping(base: usize, size: usize, page: u32) -> Result<()> {
        if !base.is_multiple_of(page as usize) {
            bail!(
                "the memory is not mmap-backed: its base {base:#x} is not aligned to the {page}-byte page \
                 (a host memory of a MemoryCreator?); nothing was discarded"
            );
        }
        #[cfg(target_os = "linux")]
        if size > 0 {
            let maps = std::fs::read_to_string("/proc/self/maps")?;
            let region = maps.lines().find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (lo, hi) = range.split_once('-')?;
                let (lo, hi) = (usize::from_str_radix(lo, 16).ok()?, usize::from_str_radix(hi, 16).ok()?);
                (lo <= base && base < hi).then(|| (hi, rest.split_whitespace().nth(4).unwrap_or("").to_string()))
            });
            match region {
                Some((_, name)) if name.starts_with("[heap]") || name.starts_with("[stack") => {
                    bail!("the memory is not mmap-backed: it lies in {name}; nothing was discarded")
                }
                Some(_) => {}
                None => bail!("the memory at {base:#x} is in no mapping of /proc/self/maps"),
            }
        }
        let _ = size;
        Ok(())
    }

    /// # Safety
    /// `[addr, addr + len)` must be whole pages of a private mapping whose contents nobody needs.
    pub unsafe fn discard(addr: usize, len: usize) -> Result<()> {
        // SAFETY: the caller's contract.
        if unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) } != 0 {
            bail!("madvise({addr:#x}, {len:#x}, MADV_DONTNEED): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod os {
    use wasmtime::{Result, bail};

    const UNSUPPORTED: &str = "discard_free_pages supports Linux and macOS (madvise) only";

    pub fn page_size() -> Result<u32> {
        bail!(UNSUPPORTED)
    }

    pub fn check_own_mapping(_: usize, _: usize, _: u32) -> Result<()> {
        bail!(UNSUPPORTED)
    }

    /// # Safety
    /// Never called: `page_size` fails first.
    pub unsafe fn discard(_: usize, _: usize) -> Result<()> {
        bail!(UNSUPPORTED)
    }
}
