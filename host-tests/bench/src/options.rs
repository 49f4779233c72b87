//! The runner's command line (see `main.rs`; scripts/bench passes it), and how much a run measures:
//! `--quick` for CI, or the full run of the committed report.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::time::Duration;

pub struct Options {
    pub quick: bool,
    /// `(name, module path)`; the first is the subject (wasmheap).
    pub allocs: Vec<(String, PathBuf)>,
    /// `(name, module path)`: the module whose `malloc`/`free`/`realloc` the C-alignment
    /// measure replays for that allocator (`--c-module`; wasmheap's `c-api` flavor). An
    /// allocator without one is replayed through the C exports of its own module (the peers').
    pub c_modules: Vec<(String, PathBuf)>,
    /// Whether to run the C-alignment measure (`--no-c` skips it).
    pub c_mode: bool,
    /// `(trace name, module path)` of each recorder program (`--recorder [TRACE=]PATH`; a bare
    /// path is the `recorded` trace's); see `recorder::PROGRAMS`.
    pub recorders: Vec<(String, PathBuf)>,
    /// The allocators whose modules (raw and C) run as cargo built them (`--as-built NAME`: the
    /// peers, as a user's release build gives them); the others run after `wasm-opt -Oz` (the
    /// shipped wasmheap, as scripts/build makes it).
    pub as_built: Vec<String>,
    /// `(name, module path)`: the module whose size after `wasm-opt -Oz` is the allocator's size
    /// column (`--size-module`; the peers' opt-level "z" build); without one, the module run.
    pub size_modules: Vec<(String, PathBuf)>,
    /// `(name, manifest, profile)`: the cargo profile that built the allocator's modules
    /// (`--profile NAME=MANIFEST:PROFILE`), and that of its size module (`--size-profile`), read
    /// from the manifest for the report.
    pub profiles: Vec<(String, PathBuf, String)>,
    pub size_profiles: Vec<(String, PathBuf, String)>,
    /// The subject's module as the repository ships it (`--shipped`, `wasm/wasmheap.wasm`): the
    /// report says whether the bytes run are the same.
    pub shipped: Option<PathBuf>,
    /// The shared flavor (`--shared PATH`): the lock's price in fuel on every trace, and
    /// throughput with 1, 2 and 4 Node workers (unless `--no-v8`).
    pub shared: Option<PathBuf>,
    /// Peers of the throughput measure (`--threads-peer NAME=PATH`): Rust programs built with
    /// `+atomics` over an imported shared memory, each allocator with its lock.
    pub threads_peers: Vec<(String, PathBuf)>,
    pub wasm_opt: Option<PathBuf>,
    pub run_raw: bool,
    pub out: Option<PathBuf>,
    /// A README whose numbers block (`report::readme`) is rewritten from this run.
    pub readme: Option<PathBuf>,
    /// Where `wasm-opt` outputs are cached.
    pub cache: PathBuf,
    /// Only the traces of these names.
    pub only: Option<Vec<String>>,
    pub scaling: bool,
    pub efficiency: bool,
    /// Lines for the report's list of facts about the run.
    pub meta: Vec<String>,
    /// Node for the V8 timing, unless `--no-v8` (whatever the order of the two flags).
    pub node: PathBuf,
    pub v8: bool,
    /// Where the modules and traces for Node are written.
    pub v8_dir: PathBuf,
    pub effort: Effort,
}

/// How much a run measures; quick or full.
pub struct Effort {
    /// Timed rounds per trace (`--reps` overrides).
    pub reps: usize,
    /// Fuel budget of one whole-trace replay, and of a scaling fill or mix; past it the cell reads
    /// "over budget".
    pub fuel_budget: u64,
    /// An allocator whose timed run takes longer than this is timed once only.
    pub slow: Duration,
    /// The memory cap of the heap-efficiency measure, and its number of seeded trials.
    pub efficiency_cap: usize,
    pub efficiency_trials: u64,
    /// Single calls measured after each scaling fill.
    pub scaling_ops: usize,
}

impl Effort {
    fn new(quick: bool) -> Self {
        let pick = |quick_value: u64, full_value: u64| if quick { quick_value } else { full_value };
        Effort {
            reps: pick(5, 7) as usize,
            fuel_budget: pick(3_000_000_000, 40_000_000_000),
            slow: Duration::from_millis(pick(1500, 5000)),
            efficiency_cap: pick(8 << 20, 32 << 20) as usize,
            efficiency_trials: pick(5, 30),
            scaling_ops: pick(300, 3000) as usize,
        }
    }
}

impl Options {
    fn defaults() -> Self {
        Options {
            quick: false,
            allocs: Vec::new(),
            c_modules: Vec::new(),
            c_mode: true,
            recorders: Vec::new(),
            as_built: Vec::new(),
            size_modules: Vec::new(),
            profiles: Vec::new(),
            size_profiles: Vec::new(),
            shipped: None,
            shared: None,
            threads_peers: Vec::new(),
            wasm_opt: None,
            run_raw: false,
            out: None,
            readme: None,
            cache: std::env::temp_dir().join("wasmheap-bench-cache"),
            only: None,
            scaling: true,
            efficiency: true,
            meta: Vec::new(),
            node: "node".into(),
            v8: true,
            v8_dir: std::env::temp_dir().join("wasmheap-bench-v8"),
            effort: Effort::new(false),
        }
    }

    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Self> {
        let mut o = Options::defaults();
        let mut reps = None;
        while let Some(a) = args.next() {
            let mut val = || args.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--quick" => o.quick = true,
                "--alloc" => {
                    let v = val()?;
                    let (name, path) = v.split_once('=').context("--alloc NAME=PATH")?;
                    o.allocs.push((name.to_string(), PathBuf::from(path)));
                }
                "--c-module" => {
                    let v = val()?;
                    let (name, path) = v.split_once('=').context("--c-module NAME=PATH")?;
                    o.c_modules.push((name.to_string(), PathBuf::from(path)));
                }
                "--no-c" => o.c_mode = false,
                "--recorder" => {
                    let v = val()?;
                    let (name, path) = v.split_once('=').unwrap_or(("recorded", &v));
                    if crate::recorder::program(name).is_none() {
                        bail!("--recorder {name}=...: no such recorder program");
                    }
                    o.recorders.push((name.to_string(), PathBuf::from(path)));
                }
                "--as-built" => o.as_built.push(val()?),
                "--size-module" => {
                    let v = val()?;
                    let (name, path) = v.split_once('=').context("--size-module NAME=PATH")?;
                    o.size_modules.push((name.to_string(), PathBuf::from(path)));
                }
                "--profile" | "--size-profile" => {
                    let v = val()?;
                    let (name, spec) = v.split_once('=').with_context(|| format!("{a} NAME=MANIFEST:PROFILE"))?;
                    let (manifest, profile) =
                        spec.rsplit_once(':').with_context(|| format!("{a} NAME=MANIFEST:PROFILE"))?;
                    let entry = (name.to_string(), PathBuf::from(manifest), profile.to_string());
                    match a.as_str() {
                        "--profile" => o.profiles.push(entry),
                        _ => o.size_profiles.push(entry),
                    }
                }
                "--shipped" => o.shipped = Some(val()?.into()),
                "--shared" => o.shared = Some(val()?.into()),
                "--threads-peer" => {
                    let v = val()?;
                    let (name, path) = v.split_once('=').context("--threads-peer NAME=PATH")?;
                    o.threads_peers.push((name.to_string(), PathBuf::from(path)));
                }
                "--wasm-opt" => o.wasm_opt = Some(val()?.into()),
                "--run-raw" => o.run_raw = true,
                "--out" => o.out = Some(val()?.into()),
                "--readme" => o.readme = Some(val()?.into()),
                "--cache" => o.cache = val()?.into(),
                "--reps" => reps = Some(val()?.parse()?),
                "--only" => o.only = Some(val()?.split(',').map(String::from).collect()),
                "--no-scaling" => o.scaling = false,
                "--no-efficiency" => o.efficiency = false,
                "--meta" => o.meta.push(val()?),
                "--node" => o.node = val()?.into(),
                "--v8-dir" => o.v8_dir = val()?.into(),
                "--no-v8" => o.v8 = false,
                "-h" | "--help" => {
                    println!("see the doc comment of host-tests/bench/src/main.rs, or scripts/bench --help");
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other}"),
            }
        }
        if o.allocs.is_empty() {
            bail!("no --alloc given (scripts/bench passes them)");
        }
        let named = [
            ("--c-module", o.c_modules.iter().map(|(n, _)| n).collect::<Vec<_>>()),
            ("--as-built", o.as_built.iter().collect()),
            ("--size-module", o.size_modules.iter().map(|(n, _)| n).collect()),
            ("--profile", o.profiles.iter().map(|(n, _, _)| n).collect()),
            ("--size-profile", o.size_profiles.iter().map(|(n, _, _)| n).collect()),
        ];
        for (flag, names) in named {
            for name in names {
                if !o.allocs.iter().any(|(n, _)| n == name) {
                    bail!("{flag} {name}...: no --alloc {name}");
                }
            }
        }
        o.effort = Effort::new(o.quick);
        o.effort.reps = reps.unwrap_or(o.effort.reps);
        Ok(o)
    }

    /// Whether allocator `name`'s modules run as cargo built them (`--as-built`).
    pub fn runs_as_built(&self, name: &str) -> bool {
        self.as_built.iter().any(|n| n == name)
    }

    /// Whether the trace `name` is to be run (`--only`).
    pub fn wants(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|o| o == name))
    }
}
