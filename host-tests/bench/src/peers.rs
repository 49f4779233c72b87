//! The allocators under comparison: wasmheap (the subject, first) and the modules built in
//! host-tests/bench/peers (the peers, and wasmheap as a global allocator behind the same wrapper),
//! what each is, how each was built, their sizes, and the bytes that run.

use crate::profile::Profile;
use crate::session::{Compiled, Engines};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct Alloc {
    /// The name on the command line (and in file names); [`Alloc::label`] is the report's.
    pub name: String,
    pub label: String,
    pub note: &'static str,
    /// The module's size as cargo wrote it.
    pub raw_size: u64,
    /// Whether the module run is the `wasm-opt -Oz` output (else: as cargo wrote it).
    pub ran_opt: bool,
    /// The bytes of the module that was run (V8 runs the same).
    pub bytes: Vec<u8>,
    pub compiled: Compiled,
    /// The cargo profile that built the module run (and the C-alignment module), when known.
    pub profile: Option<Profile>,
    /// The module of the size column.
    pub size: SizeModule,
    /// The module of the C-alignment measure when it is not this one (wasmheap's `c-api`
    /// flavor, the peers built with `peer-abi/c`); `None`: this module's own C exports.
    pub c: Option<CModule>,
}

/// The module whose size after `wasm-opt -Oz` is the allocator's size column: a build of its own
/// (the peers' opt-level "z", `--size-module`), or the module run.
pub struct SizeModule {
    /// `None`: the module run.
    pub path: Option<PathBuf>,
    pub profile: Option<Profile>,
    /// After `wasm-opt -Oz --enable-bulk-memory` (`None` without `--wasm-opt`).
    pub opt_size: Option<u64>,
}

/// A module of its own for the C-alignment measure (`--c-module`), run as its allocator's module
/// is (after wasm-opt or as cargo built it).
pub struct CModule {
    pub path: PathBuf,
    /// The bytes run.
    pub size: u64,
    pub compiled: Compiled,
}

/// The bytes to run: `opt` (the `wasm-opt -Oz` output) when there is one, else the module as
/// cargo wrote it; with the latter's size, and whether `opt` was taken.
fn pick(raw: &Path, opt: Option<Vec<u8>>) -> Result<(u64, bool, Vec<u8>)> {
    let raw_bytes = std::fs::read(raw).with_context(|| format!("read {}", raw.display()))?;
    let raw_size = raw_bytes.len() as u64;
    Ok(match opt {
        Some(o) => (raw_size, true, o),
        None => (raw_size, false, raw_bytes),
    })
}

/// What the report calls an allocator: its name, but for wasmheap built as a peer, which is
/// named after how it is built (`wasmheap (GlobalAlloc, O3)`, the opt-level read from its
/// profile).
pub fn label(name: &str, profile: Option<&Profile>) -> String {
    match (name, profile) {
        ("wasmheap-global", Some(p)) => format!("wasmheap (GlobalAlloc, {})", p.short_opt()),
        ("wasmheap-global", None) => "wasmheap (GlobalAlloc)".into(),
        _ => name.to_string(),
    }
}

/// What each allocator is, for the report.
pub fn note(name: &str) -> &'static str {
    match name {
        "wasmheap" => {
            "this crate as it ships: TLSF, O(1), boundary tags, marks (`--features module`, raw ABI, no wrapper)"
        }
        "wasmheap-global" => {
            "this crate's `WasmHeap` as a Rust program's `#[global_allocator]` (no features), compiled into a peer crate (`peers/wasmheap-global`) behind the peers' wrapper"
        }
        "talc" => {
            "talc 5 `wasm::new_wasm_dynamic_allocator()` (TalcSyncCell, WasmGrowAndExtend, WasmBinning), as its README_WASM recommends"
        }
        "rlsf" => "rlsf 0.2 `GlobalTlsf` (TLSF, default options, pools from memory.grow)",
        "dlmalloc" => "dlmalloc-rs 0.2 `GlobalDlmalloc` (the allocator of Rust's std on wasm32)",
        "lol_alloc" => "lol_alloc 0.4 `AssumeSingleThreaded<FreeListAllocator>` (first fit, O(free blocks))",
        "bump" => "never frees: a pointer bump (the speed limit); realloc grows the last block in place, else copies",
        _ => "",
    }
}

/// How an allocator's C-alignment module (`--c-module`) is built, for the report.
pub fn c_note(name: &str) -> &'static str {
    match name {
        "wasmheap" => {
            "this crate with `--features module,c-api` (as `wasm/wasmheap-c.wasm`): its own `malloc`/`free`/`realloc`, no wrapper"
        }
        "wasmheap-global" | "talc" | "rlsf" | "dlmalloc" | "lol_alloc" | "bump" => {
            "the peer crate with `peer-abi/c`: `malloc`/`free`/`realloc` (16-byte header, 16-aligned) beside the raw ABI"
        }
        _ => "",
    }
}

impl Alloc {
    /// Loads the module at `raw` and compiles the one to run: `opt` (its `wasm-opt -Oz` output)
    /// when given, else the module as cargo wrote it.
    pub fn load(
        engines: &Engines,
        name: &str,
        raw: &Path,
        opt: Option<Vec<u8>>,
        profile: Option<Profile>,
        size: SizeModule,
    ) -> Result<Self> {
        let (raw_size, ran_opt, bytes) = pick(raw, opt)?;
        let compiled = Compiled::new(engines, &bytes).with_context(|| format!("compile {}", raw.display()))?;
        Ok(Alloc {
            name: name.to_string(),
            label: label(name, profile.as_ref()),
            note: note(name),
            raw_size,
            ran_opt,
            bytes,
            compiled,
            profile,
            size,
            c: None,
        })
    }

    /// Gives the allocator a module of its own for the C-alignment measure (as [`Alloc::load`]).
    pub fn load_c(&mut self, engines: &Engines, raw: &Path, opt: Option<Vec<u8>>) -> Result<()> {
        let (_, _, bytes) = pick(raw, opt)?;
        let compiled = Compiled::new(engines, &bytes).with_context(|| format!("compile {}", raw.display()))?;
        self.c = Some(CModule { path: raw.to_path_buf(), size: bytes.len() as u64, compiled });
        Ok(())
    }

    /// The module whose `malloc`/`free`/`realloc` the C-alignment measure replays.
    pub fn c_compiled(&self) -> &Compiled {
        self.c.as_ref().map_or(&self.compiled, |c| &c.compiled)
    }

    /// How the module run was built: its profile, then after `wasm-opt -Oz` or as cargo wrote
    /// it.
    pub fn build(&self) -> Build<'_> {
        Build { profile: self.profile.as_ref(), wasm_opt: self.ran_opt }
    }

    /// How the size column's module was built (always measured after `wasm-opt -Oz`).
    pub fn size_build(&self) -> Build<'_> {
        Build { profile: self.size.profile.as_ref(), wasm_opt: true }
    }
}

/// A cargo profile, and whether `wasm-opt -Oz` ran on its output: how a module was made.
#[derive(Clone, Copy, PartialEq)]
pub struct Build<'a> {
    pub profile: Option<&'a Profile>,
    pub wasm_opt: bool,
}

impl Build<'_> {
    /// `opt-level 3, as cargo writes it` / `opt-level "s" + wasm-opt -Oz`.
    pub fn short(&self) -> String {
        let level = self.profile.map(Profile::opt_level).unwrap_or_else(|| "profile not given".into());
        match self.wasm_opt {
            true => format!("{level} + `wasm-opt -Oz`"),
            false => format!("{level}, as cargo writes it (no wasm-opt)"),
        }
    }
}
