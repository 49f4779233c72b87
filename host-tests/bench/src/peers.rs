//! The allocators under comparison: wasmheap (the subject, first) and the peer modules built in
//! host-tests/bench/peers, what each is, their sizes, and the bytes that run.

use crate::session::{Compiled, Engines};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct Alloc {
    pub name: String,
    pub note: &'static str,
    pub raw_size: u64,
    /// After `wasm-opt -Oz --enable-bulk-memory`.
    pub opt_size: Option<u64>,
    /// Which of the two was run.
    pub ran_opt: bool,
    /// The bytes of the module that was run (V8 runs the same).
    pub bytes: Vec<u8>,
    pub compiled: Compiled,
    /// The module of the C-alignment measure when it is not this one (wasmheap's `c-api`
    /// flavor); `None`: this module's own `malloc`/`free`/`realloc` (the peers').
    pub c: Option<CModule>,
}

/// A module of its own for the C-alignment measure (`--c-module`).
pub struct CModule {
    pub path: PathBuf,
    pub raw_size: u64,
    pub opt_size: Option<u64>,
    pub compiled: Compiled,
}

/// The bytes to run: `opt` (the `wasm-opt -Oz` output) unless `run_raw` or there is none; with
/// the raw module's size, and whether `opt` was taken.
fn pick(raw: &Path, opt: Option<Vec<u8>>, run_raw: bool) -> Result<(u64, bool, Vec<u8>)> {
    let raw_bytes = std::fs::read(raw).with_context(|| format!("read {}", raw.display()))?;
    let ran_opt = !run_raw && opt.is_some();
    let raw_size = raw_bytes.len() as u64;
    let bytes = match opt {
        Some(o) if ran_opt => o,
        _ => raw_bytes,
    };
    Ok((raw_size, ran_opt, bytes))
}

/// What each allocator is, for the report.
pub fn note(name: &str) -> &'static str {
    match name {
        "wasmheap" => {
            "this crate: TLSF, O(1), boundary tags, marks (`--features module`, raw ABI, no wrapper)"
        }
        "talc" => {
            "talc 5 `wasm::new_wasm_dynamic_allocator()` (TalcSyncCell, WasmGrowAndExtend, WasmBinning), as its README_WASM recommends"
        }
        "rlsf" => "rlsf 0.2 `GlobalTlsf` (TLSF, default options, pools from memory.grow)",
        "dlmalloc" => "dlmalloc-rs 0.2 `GlobalDlmalloc` (the allocator of Rust's std on wasm32)",
        "lol_alloc" => {
            "lol_alloc 0.4 `AssumeSingleThreaded<FreeListAllocator>` (first fit, O(free blocks))"
        }
        "bump" => {
            "never frees: a pointer bump (the speed limit); realloc grows the last block in place, else copies"
        }
        _ => "",
    }
}

/// How an allocator's C-alignment module (`--c-module`) is built, for the report.
pub fn c_note(name: &str) -> &'static str {
    match name {
        "wasmheap" => {
            "this crate with `--features module,c-api` (as `wasm/wasmheap-c.wasm`): its own `malloc`/`free`/`realloc`, no wrapper"
        }
        "talc" | "rlsf" | "dlmalloc" | "lol_alloc" | "bump" => {
            "the peer crate with `peer-abi/c`: `malloc`/`free`/`realloc` (16-byte header, 16-aligned) beside the raw ABI"
        }
        _ => "",
    }
}

impl Alloc {
    /// Loads `raw` and compiles the module to run: `opt` (the `wasm-opt -Oz` output) unless
    /// `run_raw` or there is none.
    pub fn load(
        engines: &Engines,
        name: &str,
        raw: &Path,
        opt: Option<Vec<u8>>,
        run_raw: bool,
    ) -> Result<Self> {
        let opt_size = opt.as_ref().map(|o| o.len() as u64);
        let (raw_size, ran_opt, bytes) = pick(raw, opt, run_raw)?;
        let compiled =
            Compiled::new(engines, &bytes).with_context(|| format!("compile {}", raw.display()))?;
        Ok(Alloc {
            name: name.to_string(),
            note: note(name),
            raw_size,
            opt_size,
            ran_opt,
            bytes,
            compiled,
            c: None,
        })
    }

    /// Gives the allocator a module of its own for the C-alignment measure (as [`Alloc::load`]).
    pub fn load_c(
        &mut self,
        engines: &Engines,
        raw: &Path,
        opt: Option<Vec<u8>>,
        run_raw: bool,
    ) -> Result<()> {
        let opt_size = opt.as_ref().map(|o| o.len() as u64);
        let (raw_size, _, bytes) = pick(raw, opt, run_raw)?;
        let compiled =
            Compiled::new(engines, &bytes).with_context(|| format!("compile {}", raw.display()))?;
        self.c = Some(CModule {
            path: raw.to_path_buf(),
            raw_size,
            opt_size,
            compiled,
        });
        Ok(())
    }

    /// The module whose `malloc`/`free`/`realloc` the C-alignment measure replays.
    pub fn c_compiled(&self) -> &Compiled {
        self.c.as_ref().map_or(&self.compiled, |c| &c.compiled)
    }
}
