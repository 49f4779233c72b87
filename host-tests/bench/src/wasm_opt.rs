//! `wasm-opt -Oz --enable-bulk-memory` (binaryen, from scripts/node_modules): the shipped wasmheap
//! runs after it (as scripts/build makes it), and every allocator's size column is measured after
//! it, all alike. The peers run as cargo built them (`--as-built`), as a release build gives them.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The flags every module is optimized with.
pub const WASM_OPT_FLAGS: [&str; 2] = ["-Oz", "--enable-bulk-memory"];

/// FNV-1a, for cache keys.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
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
