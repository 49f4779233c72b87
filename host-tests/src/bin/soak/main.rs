//! The soak: millions of random operations, with bad input mixed in and `memory.grow` refused at
//! random moments, on the shipped module in wasmtime, checked against a model of the heap.
//!
//! Options: [`HELP`] (`soak --help`, or `scripts/soak --help`).
//!
//! The run is deterministic for a given seed, module and options. On a failure it prints the
//! seed and the step, replays the run checking after every step near the failure, prints the
//! last calls before it, and exits with status 1. See `runner.rs` for the loop and the model,
//! and the rooms beside it for what is checked.

mod bad_pointers;
mod checks;
mod marks;
mod operations;
mod patterns;
mod runner;
mod threads;

use bad_pointers::BAD_KINDS;
use host_tests::{Export, Fuel, Instance, Layout, Limiter, Probed, probe};
use runner::{Config, Failure, Runner, Totals};
use std::process::ExitCode;
use wasmheap_model::Rng;

struct Args {
    modules: Vec<String>,
    all: bool,
    threads: usize,
    cfg: Config,
}

const HELP: &str = "\
usage: soak [--module PATH | --all] [--seed N] [--ops N] [options]

  --module PATH       the module to soak (default wasm/wasmheap.wasm); may be given several times
  --all               every wasm/*.wasm that exports the raw ABI (own memory, or env.memory + init)
  --seed N            seed of the run (decimal or 0x hex; default 0x5EED)
  --ops N             random operations per module (default 1000000; 1e6, 2.5e7, 10^8 work)
  --check-every N     check() and stats against the model every N operations (default 1000)
  --snapshot-every N  bracket every Nth operation with memory snapshots (default 499)
  --instance-ops N    a fresh instance every N operations (default 500000)
  --max-live N        cap on live blocks (default 2000)
  --budget-mib N      cap on live requested bytes, MiB (default 4)
  --cap-mib N         memory.grow is refused past this much memory, MiB (default 32)
  --no-bad            no bad input (for a flavor that traps on it)
  --threads N         threads for a module with a shared memory (default 4, at most 15)
  --progress SECS     a progress line on stderr every SECS seconds (default: none)
  --watch PTR         print every event of one pointer (debugging)

Deterministic for a given seed, module and options; exits 1 on a failure, with the seed and the step.";

fn usage() -> ! {
    eprintln!("{HELP}");
    std::process::exit(2)
}

fn number(s: &str) -> u64 {
    let t = s.replace('_', "");
    let parsed = if let Some(h) = t.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some((m, e)) = t.split_once('e').or_else(|| t.split_once("10^").map(|(_, e)| ("1", e))) {
        // 1e6, 2.5e7, 10^8: exact integers only.
        match (m.parse::<f64>(), e.parse::<i32>()) {
            (Ok(m), Ok(e)) if (0..=18).contains(&e) => {
                let v = m * 10f64.powi(e);
                ((0.0..1.8e19).contains(&v) && v.fract() == 0.0).then_some(v as u64)
            }
            _ => None,
        }
    } else {
        t.parse().ok()
    };
    parsed.unwrap_or_else(|| {
        eprintln!("soak: not a number: {s}");
        usage()
    })
}

fn parse_args() -> Args {
    let mut a = Args {
        modules: Vec::new(),
        all: false,
        threads: 4,
        cfg: Config {
            seed: 0x5EED,
            ops: 1_000_000,
            check_every: 1000,
            fine_from: u64::MAX,
            max_live: 2000,
            budget: 4 << 20,
            cap: 32 << 20,
            bad: true,
            must_grow: true,
            snapshot_every: 499,
            instance_ops: 500_000,
            progress: 0.0,
            watch: None,
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--module" => a.modules.push(val()),
            "--all" => a.all = true,
            "--seed" => a.cfg.seed = number(&val()),
            "--ops" => a.cfg.ops = number(&val()),
            "--check-every" => a.cfg.check_every = number(&val()).max(1),
            "--snapshot-every" => a.cfg.snapshot_every = number(&val()).max(1),
            "--instance-ops" => a.cfg.instance_ops = number(&val()).max(1),
            "--max-live" => a.cfg.max_live = number(&val()) as usize,
            "--budget-mib" => a.cfg.budget = number(&val()) << 20,
            "--cap-mib" => a.cfg.cap = (number(&val()) << 20).min(1 << 31) as usize,
            "--no-bad" => a.cfg.bad = false,
            "--threads" => a.threads = (number(&val()) as usize).clamp(1, 15),
            "--progress" => a.cfg.progress = val().parse().unwrap_or_else(|_| usage()),
            "--watch" => a.cfg.watch = Some(number(&val()) as u32),
            "-h" | "--help" => {
                println!("{HELP}");
                std::process::exit(0)
            }
            _ => {
                eprintln!("soak: unknown argument {arg}");
                usage()
            }
        }
    }
    a
}

/// wasm/ of the repository.
fn wasm_dir() -> std::path::PathBuf {
    host_tests::repo_path("wasm")
}

fn shown(path: &str) -> String {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| {
            let root = std::fs::canonicalize(wasm_dir().join("..")).ok()?;
            p.strip_prefix(root).ok().map(|r| r.display().to_string())
        })
        .unwrap_or_else(|| path.to_string())
}

fn main() -> ExitCode {
    let args = parse_args();
    let paths = module_paths(&args);
    let cfg = &args.cfg;
    print_header(cfg);
    let (mut passed, mut skipped, mut failed) = (0, 0, Vec::new());
    let mut grand = Totals::default();
    for path in &paths {
        let name = shown(path);
        if let Some(module) = shared_module(path) {
            println!("\n{name} (a shared env.memory, init({:#x}, 0)): threaded mode", host_tests::shared::REGION);
            match threads::soak_threads(&module, cfg, args.threads) {
                // Not in the totals of all modules: it counts no calls, kinds of bad pointers, fuel.
                Ok(_) => passed += 1,
                Err(what) => {
                    eprintln!(
                        "\nsoak: FAILED on {name}, seed {:#x}, {threads} threads: {what}",
                        cfg.seed,
                        threads = args.threads
                    );
                    failed.push(name.clone());
                }
            }
            continue;
        }
        let probed = match probe(path) {
            Ok(p) => p,
            Err(why) => {
                println!("\n{name}: skipped: {why}");
                skipped += 1;
                continue;
            }
        };
        let cfg = module_config(cfg, &name, path, &probed);
        match soak_one(&probed, &cfg) {
            Ok(t) => {
                report(&t);
                merge(&mut grand, &t);
                passed += 1;
            }
            Err(f) => {
                explain_failure(&probed, &cfg, &name, &f);
                failed.push(format!("{name} at step {}", f.step));
            }
        }
    }
    finish(passed, skipped, &failed, &grand, cfg.seed)
}

/// The module at `path` compiled for threads, if it imports a shared memory (the shared flavor).
fn shared_module(path: &str) -> Option<wasmtime::Module> {
    let bytes = std::fs::read(path).ok()?;
    let engine = host_tests::shared::engine();
    wasmtime::Module::new(engine, bytes)
        .ok()
        .filter(|m| m.imports().any(|i| i.ty().memory().is_some_and(|m| m.is_shared())))
}

/// The modules to soak: those named, then with `--all` every wasm/*.wasm; by default
/// wasm/wasmheap.wasm.
fn module_paths(args: &Args) -> Vec<String> {
    let mut paths = args.modules.clone();
    if args.all {
        let mut found: Vec<String> = std::fs::read_dir(wasm_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                    .map(|p| p.display().to_string())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        paths.extend(found);
    }
    if paths.is_empty() {
        paths.push(wasm_dir().join("wasmheap.wasm").display().to_string());
    }
    paths
}

fn print_header(cfg: &Config) {
    println!(
        "soak: seed {:#x}, {} operations per module, a fresh instance every {}, check every {}, \
         snapshot every {}, live blocks <= {}, live bytes <= {} KiB, memory <= {} MiB{}",
        cfg.seed,
        cfg.ops,
        cfg.instance_ops,
        cfg.check_every,
        cfg.snapshot_every,
        cfg.max_live,
        cfg.budget >> 10,
        cfg.cap >> 20,
        if cfg.bad { "" } else { ", no bad input" }
    );
}

/// The options for module `path` (a fixed pool need not grow), printed with its layout.
fn module_config(cfg: &Config, name: &str, path: &str, probed: &Probed) -> Config {
    let mut cfg = cfg.clone();
    let file = std::path::Path::new(path).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    if file.contains("static") {
        println!(
            "\n{name}: note: a fixed pool never grows: failed allocations are accepted without a refused memory.grow"
        );
        cfg.must_grow = false;
    }
    let layout = match probed.layout {
        Layout::Own => "own memory".to_string(),
        Layout::Imported { start } => format!("imported env.memory, init({start:#x}, 0)"),
    };
    println!("\n{name} ({layout})");
    cfg
}

/// On stderr: the failure, what a replay that checks after every step shows, the last calls
/// before it, and how to reproduce it.
fn explain_failure(probed: &Probed, cfg: &Config, name: &str, f: &Failure) {
    eprintln!("\nsoak: FAILED on {name}, seed {:#x}, step {}: {}", cfg.seed, f.step, f.what);
    let fine = replay(probed, cfg, f);
    if let Some(fine) = fine {
        if fine.step != f.step || fine.what != f.what {
            eprintln!("soak: checking after every step, it shows first at step {}: {}", fine.step, fine.what);
        }
        if !fine.trace.is_empty() {
            eprintln!("soak: the last calls before it:");
            for line in &fine.trace {
                eprintln!("  {line}");
            }
        }
    }
    eprintln!(
        "soak: reproduce with: scripts/soak --module {name} --seed {:#x} --ops {}{}",
        cfg.seed,
        f.step,
        options(cfg)
    );
}

/// The totals of all modules, the last line, and the exit status.
fn finish(passed: u32, skipped: u32, failed: &[String], grand: &Totals, seed: u64) -> ExitCode {
    if passed > 1 {
        println!("\nall modules soaked on one thread:");
        report_totals(grand);
    }
    println!("\nsoak: {passed} module(s) passed, {skipped} skipped, {} failed, seed {:#x}", failed.len(), seed);
    if !failed.is_empty() {
        eprintln!("soak: FAILED: {}", failed.join(", "));
        return ExitCode::FAILURE;
    }
    if passed == 0 {
        eprintln!("soak: no module was soaked");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The options that shape the operations, where they differ from the defaults.
fn options(cfg: &Config) -> String {
    let mut s = String::new();
    if cfg.max_live != 2000 {
        s += &format!(" --max-live {}", cfg.max_live);
    }
    if cfg.budget != 4 << 20 {
        s += &format!(" --budget-mib {}", cfg.budget >> 20);
    }
    if cfg.cap != 32 << 20 {
        s += &format!(" --cap-mib {}", cfg.cap >> 20);
    }
    if !cfg.bad {
        s += " --no-bad";
    }
    if cfg.instance_ops != 500_000 {
        s += &format!(" --instance-ops {}", cfg.instance_ops);
    }
    s
}

fn soak_one(probed: &Probed, cfg: &Config) -> Result<Totals, Failure> {
    // Instance k's limiter refuses memory.grow from its own stream of the seed.
    let limiter = |k: u64| Limiter::new(cfg.cap, Rng::new(cfg.seed, 100 + k));
    let fresh = |k: u64| Instance::instantiate(&probed.module, probed.layout, limiter(k));
    let w = fresh(0).map_err(|what| Failure { step: 0, what, trace: Vec::new() })?;
    let mut r = Runner::new(cfg.clone(), w);
    r.run(fresh)?;
    Ok(r.t)
}

/// Runs the same seed again up to the failing step, checking after every step from the last
/// check that passed, with a trace of the calls.
fn replay(probed: &Probed, cfg: &Config, f: &Failure) -> Option<Failure> {
    if f.step == 0 {
        return None;
    }
    let mut cfg = cfg.clone();
    cfg.fine_from = (f.step - 1) / cfg.check_every * cfg.check_every + 1;
    cfg.ops = f.step;
    cfg.progress = 0.0;
    eprintln!("soak: replaying seed {:#x} up to step {}, checking every step from {}", cfg.seed, f.step, cfg.fine_from);
    soak_one(probed, &cfg).err()
}

fn merge(g: &mut Totals, t: &Totals) {
    g.ops += t.ops;
    g.calls += t.calls;
    g.checks += t.checks;
    g.full_checks += t.full_checks;
    g.snapshots += t.snapshots;
    g.rejected_frees += t.rejected_frees;
    g.rejected_marks += t.rejected_marks;
    g.failures += t.failures;
    g.refusals += t.refusals;
    g.grows += t.grows;
    g.allocations += t.allocations;
    g.frees += t.frees;
    g.reallocations += t.reallocations;
    g.false_accepts += t.false_accepts;
    g.instances += t.instances;
    g.seconds += t.seconds;
    g.bytes_checked += t.bytes_checked;
    for (a, b) in g.bad_tried.iter_mut().zip(t.bad_tried) {
        *a += b;
    }
    g.fuel.resize(t.fuel.len(), Fuel::default());
    for (a, b) in g.fuel.iter_mut().zip(&t.fuel) {
        a.merge(b);
    }
}

fn report_totals(t: &Totals) {
    let bad: u64 = t.bad_tried.iter().sum();
    println!(
        "  operations          {:>14}   in {:.1} s: {:.0} ops/s ({} calls into the module)",
        t.ops,
        t.seconds,
        t.ops as f64 / t.seconds.max(1e-9),
        t.calls
    );
    println!("  allocations         {:>14}   frees {}, reallocations {}", t.allocations, t.frees, t.reallocations);
    println!(
        "  rejected frees      {:>14}   (deallocate/reallocate of {} bad pointers, all rejected)",
        t.rejected_frees,
        bad - t.false_accepts
    );
    println!("  rejected marks      {:>14}", t.rejected_marks);
    println!("  failed requests     {:>14}   (stats.failures: out of memory, too large, bad align, marks)", t.failures);
    println!("  memory.grow refused {:>14}   granted {}", t.refusals, t.grows);
    println!(
        "  checks passed       {:>14}   ({} with every block; {} snapshot comparisons; {} MiB of contents checked)",
        t.checks,
        t.full_checks,
        t.snapshots,
        t.bytes_checked >> 20
    );
    println!(
        "  false accepts       {:>14}   (stray pointers that size() took for live blocks: check bits, at most 2^-19 each)",
        t.false_accepts
    );
}

fn report(t: &Totals) {
    report_totals(t);
    let bad: Vec<String> = BAD_KINDS.iter().zip(t.bad_tried).map(|(k, n)| format!("{k} {n}")).collect();
    println!("  bad pointers tried: {}", bad.join(", "));
    for n in &t.false_accept_notes {
        println!("    {n}");
    }
    println!(
        "  {} instance(s); largest: {} live blocks, mark depth {} ({} storms to 255), memory {} KiB; {} free_to_mark, {} free_all",
        t.instances,
        t.max_live,
        t.max_depth,
        t.storms,
        t.max_mem / 1024,
        t.to_marks,
        t.free_alls
    );
    report_fuel(t);
}

/// The fuel table: per export, calls, mean and max fuel, and the costliest call.
fn report_fuel(t: &Totals) {
    println!("  fuel per call (wasmtime fuel, about one unit per wasm instruction):");
    println!("    {:<20} {:>12} {:>9} {:>8}   costliest call", "call", "calls", "mean", "max");
    let row = |name: &str, f: &Fuel, args: usize| {
        let shown: Vec<String> = f.max_args[..args].iter().map(|a| format!("{a:#x}")).collect();
        println!(
            "    {:<20} {:>12} {:>9.1} {:>8}   step {}: ({})",
            name,
            f.calls,
            f.mean(),
            f.max,
            f.max_step,
            shown.join(", ")
        );
    };
    let nargs = [1, 2, 1, 2, 1, 0, 0, 0, 1, 0, 1, 2];
    for (i, f) in t.fuel.iter().enumerate() {
        if f.calls == 0 {
            continue;
        }
        row(Export::NAMES[i], f, nargs[i]);
        if i == Export::Reallocate as usize {
            row("  in place", &t.fuel_realloc_in_place, 2);
            row("  moved", &t.fuel_realloc_moved, 2);
            row("  moved - copied", &t.fuel_realloc_moved_net, 2);
        }
    }
    println!(
        "    (wasmtime charges memory.copy one unit per byte: the costliest move copied {} bytes; \
         check() is O(blocks + marks): its max was with {} live blocks)",
        t.realloc_moved_max_copy, t.fuel_check_max_blocks
    );
    for (name, r) in ["free_to_mark", "free_all"].iter().zip(&t.release) {
        println!(
            "    {name}: max {} fuel when dropping {} segment(s); at most {} fuel per segment; up to {} segments at once",
            r.max, r.segments_at_max, r.max_per_segment, r.max_segments
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number("1e6"), 1_000_000);
        assert_eq!(number("10^8"), 100_000_000);
        assert_eq!(number("3e7"), 30_000_000);
        assert_eq!(number("2.5e7"), 25_000_000);
        assert_eq!(number("1_000"), 1000);
        assert_eq!(number("0x5EED"), 0x5EED);
    }
}
