//! The allocators under comparison (wasmheap and the peer modules built from host-tests/bench),
//! their sizes, and the recorder program that yields the `recorded` trace.

use crate::driver::{Compiled, Engines};
use crate::traces::{self, Trace};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasmtime::{Linker, Module, Store};

pub struct Alloc {
    pub name: String,
    pub note: &'static str,
    /// The module as cargo built it.
    pub raw: PathBuf,
    pub raw_size: u64,
    /// After `wasm-opt -Oz --enable-bulk-memory`.
    pub opt_size: Option<u64>,
    /// Which of the two was run.
    pub ran_opt: bool,
    /// The bytes of the module that was run (V8 runs the same).
    pub bytes: Vec<u8>,
    pub compiled: Compiled,
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
        let raw_bytes = std::fs::read(raw).with_context(|| format!("read {}", raw.display()))?;
        let ran_opt = !run_raw && opt.is_some();
        let raw_size = raw_bytes.len() as u64;
        let opt_size = opt.as_ref().map(|o| o.len() as u64);
        let bytes = match opt {
            Some(o) if ran_opt => o,
            _ => raw_bytes,
        };
        let compiled =
            Compiled::new(engines, &bytes).with_context(|| format!("compile {}", raw.display()))?;
        Ok(Alloc {
            name: name.to_string(),
            note: note(name),
            raw: raw.to_path_buf(),
            raw_size,
            opt_size,
            ran_opt,
            bytes,
            compiled,
        })
    }
}

/// The flags every module is optimized with.
pub const WASM_OPT_FLAGS: [&str; 2] = ["-Oz", "--enable-bulk-memory"];

/// FNV-1a, for cache keys.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Runs `wasm-opt -Oz --enable-bulk-memory` on every module at once (binaryen's npm build is a
/// slow JS/wasm program, so they run in parallel), caching results in `cache` by the hash of the
/// input.
pub fn optimize_all(tool: &Path, raws: &[PathBuf], cache: &Path) -> Result<Vec<Vec<u8>>> {
    std::fs::create_dir_all(cache)?;
    let mut jobs = Vec::new();
    for raw in raws {
        let bytes = std::fs::read(raw).with_context(|| format!("read {}", raw.display()))?;
        let key = fnv(&[bytes.as_slice(), WASM_OPT_FLAGS.join(" ").as_bytes()].concat());
        let out = cache.join(format!("{key:016x}.Oz.wasm"));
        let child = if out.exists() {
            None
        } else {
            let tmp = out.with_extension(format!("tmp{}", std::process::id()));
            let child = Command::new(tool)
                .arg(raw)
                .args(WASM_OPT_FLAGS)
                .arg("-o")
                .arg(&tmp)
                .spawn()
                .with_context(|| format!("run {}", tool.display()))?;
            Some((child, tmp))
        };
        jobs.push((raw, out, child));
    }
    let mut outs = Vec::new();
    for (raw, out, child) in jobs {
        if let Some((mut child, tmp)) = child {
            if !child.wait()?.success() {
                bail!("wasm-opt failed on {}", raw.display());
            }
            std::fs::rename(&tmp, &out)?;
        }
        outs.push(std::fs::read(&out)?);
    }
    Ok(outs)
}

/// Runs the recorder module (`run(rounds)`) and turns its log into a trace.
pub fn record(engines: &Engines, recorder: &Path, rounds: u32) -> Result<Trace> {
    let bytes = std::fs::read(recorder).with_context(|| format!("read {}", recorder.display()))?;
    let module = Module::new(&engines.time, bytes)?;
    let mut linker: Linker<Vec<[u32; 5]>> = Linker::new(&engines.time);
    linker.func_wrap(
        "env",
        "record",
        |mut caller: wasmtime::Caller<'_, Vec<[u32; 5]>>,
         op: u32,
         ptr: u32,
         size: u32,
         old: u32,
         align: u32| {
            caller.data_mut().push([op, ptr, size, old, align]);
        },
    )?;
    let mut store = Store::new(&engines.time, Vec::new());
    let inst = linker.instantiate(&mut store, &module)?;
    let run = inst.get_typed_func::<u32, u32>(&mut store, "run")?;
    run.call(&mut store, rounds)
        .map_err(anyhow::Error::from)
        .context("recorder program trapped")?;
    let log = std::mem::take(store.data_mut());
    traces::from_recording(&log, rounds)
}
