//! The shared flavor, `wasm/wasmheap-shared.wasm` (`--shared PATH`), against the subject: the
//! uncontended price of its lock, in fuel per operation on every trace (replayed op by op from the
//! host as `replay::replay_per_call` replays the others, on an instance of its own over a shared
//! memory, after `init`), and its throughput with 1, 2 and 4 Node workers on one heap
//! (`v8/threads.mjs`).

use crate::replay::PerCall;
use crate::trace::Trace;
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use wasmtime::{Config, Engine, Instance, MemoryType, Module, SharedMemory, Store, TypedFunc};

/// Where the replays put the heap's region (`init(REGION, 0)`).
const REGION: u32 = 1024;
/// Fuel given to the store around each call.
const HOST_FUEL: u64 = 1 << 62;

/// The shared flavor compiled for a fuel-metered engine with threads.
pub struct Shared {
    engine: Engine,
    module: Module,
}

impl Shared {
    pub fn new(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
        let mut config = Config::new();
        config.wasm_threads(true).shared_memory(true).consume_fuel(true);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, bytes)?;
        Ok(Shared { engine, module })
    }

    /// `trace` replayed op by op with fuel measured around each call, as for the other modules.
    pub fn per_call(&self, trace: &Trace) -> Result<PerCall> {
        let mut store = Store::new(&self.engine, ());
        store.set_fuel(HOST_FUEL)?;
        let memory = SharedMemory::new(&self.engine, MemoryType::shared(1, 65536))?;
        let instance = Instance::new(&mut store, &self.module, &[memory.into()])?;
        let init = instance.get_typed_func::<(u32, u32), u32>(&mut store, "init")?;
        if init.call(&mut store, (REGION, 0))? != 1 {
            bail!("init({REGION}, 0) refused");
        }
        let allocate: TypedFunc<u32, u32> = instance.get_typed_func(&mut store, "allocate")?;
        let deallocate: TypedFunc<u32, ()> = instance.get_typed_func(&mut store, "deallocate")?;
        let reallocate: TypedFunc<(u32, u32), u32> = instance.get_typed_func(&mut store, "reallocate")?;
        let mut table = vec![0u32; trace.slots as usize];
        let mut pc = PerCall::default();
        for op in &trace.ops {
            let slot = op.slot as usize;
            store.set_fuel(HOST_FUEL)?;
            let ptr = match op.kind {
                0 => allocate.call(&mut store, op.size)?,
                1 => {
                    deallocate.call(&mut store, table[slot])?;
                    1
                }
                _ => reallocate.call(&mut store, (table[slot], op.size))?,
            };
            pc.add(op.kind, HOST_FUEL - store.get_fuel()?);
            if ptr == 0 {
                return Err(anyhow!("{}: allocation of {} bytes failed", trace.name, op.size));
            }
            if op.kind != 1 {
                if op.kind == 2 && table[slot] != 0 && ptr != table[slot] {
                    pc.moved += 1;
                }
                table[slot] = ptr;
            }
        }
        Ok(pc)
    }
}

/// The throughput script, and as the report names it.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/v8/threads.mjs");
pub const SCRIPT_NAME: &str = "host-tests/bench/v8/threads.mjs";
/// Worker counts of the throughput measure.
pub const WORKERS: [u32; 3] = [1, 2, 4];

/// One row of the throughput measure: a module, a worker count, ops/s (all workers) per round.
pub struct Rate {
    pub name: String,
    pub workers: u32,
    pub ops_per_s: Vec<f64>,
}

impl Rate {
    pub fn best(&self) -> f64 {
        self.ops_per_s.iter().copied().fold(0.0, f64::max)
    }
    pub fn median(&self) -> f64 {
        let mut v = self.ops_per_s.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }
}

/// Random operations per worker in the throughput measure, and rounds.
pub fn throughput_effort(quick: bool) -> (u32, u32) {
    if quick { (200_000, 3) } else { (1_000_000, 5) }
}

/// Runs `v8/threads.mjs` on the shared flavor at `path` and on the peers of `--threads-peer`
/// (`+atomics` programs, each with its lock) with 1, 2 and 4 workers, and on the subject's module
/// (`subject`, its own memory, no lock) with one worker.
pub fn throughput(opts: &crate::options::Options, path: &Path, subject: &crate::peers::Alloc) -> Result<Vec<Rate>> {
    std::fs::create_dir_all(&opts.v8_dir)?;
    let subject_path = opts.v8_dir.join("threads-subject.wasm");
    std::fs::write(&subject_path, &subject.bytes)?;
    let (ops, rounds) = throughput_effort(opts.quick);
    let quote = |p: &Path| format!("\"{}\"", p.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\""));
    let mut modules = vec![
        format!("{{\"name\": \"{} (no lock)\", \"path\": {}, \"kind\": \"own\"}}", subject.label, quote(&subject_path)),
        format!("{{\"name\": \"wasmheap-shared\", \"path\": {}, \"kind\": \"shared\"}}", quote(path)),
        format!(
            "{{\"name\": \"wasmheap-shared (spin only)\", \"path\": {}, \"kind\": \"shared\", \"spin\": true}}",
            quote(path)
        ),
    ];
    for (name, peer) in &opts.threads_peers {
        modules.push(format!("{{\"name\": \"{name}\", \"path\": {}, \"kind\": \"atomics\"}}", quote(peer)));
    }
    let job = format!(
        "{{\"modules\": [{}], \"workers\": {WORKERS:?}, \"ops\": {ops}, \"rounds\": {rounds}, \"seed\": 23}}\n",
        modules.join(", ")
    );
    let job_path = opts.v8_dir.join("threads.json");
    std::fs::write(&job_path, job)?;
    let out = std::process::Command::new(&opts.node)
        .arg(SCRIPT)
        .arg(&job_path)
        .output()
        .with_context(|| format!("run {}", opts.node.display()))?;
    if !out.status.success() {
        bail!("node {SCRIPT_NAME} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let json = crate::json::Parser::parse(text.trim()).with_context(|| format!("{SCRIPT_NAME} printed {text:?}"))?;
    let rows = json.get("results").and_then(|r| r.array()).context("no results")?;
    let num = |j: &crate::json::Json| match j {
        crate::json::Json::Num(x) => Some(*x),
        _ => None,
    };
    rows.iter()
        .map(|row| {
            let name = match row.get("name") {
                Some(crate::json::Json::Str(s)) => s.clone(),
                _ => bail!("a row without a name"),
            };
            let workers = row.get("workers").and_then(num).context("workers")? as u32;
            let ops_per_s = row.get("ops_per_s").and_then(|r| r.array()).context("ops_per_s")?;
            Ok(Rate { name, workers, ops_per_s: ops_per_s.iter().filter_map(num).collect() })
        })
        .collect()
}
