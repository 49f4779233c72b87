//! Stable-toolchain tests of the fuzzing harness, without libFuzzer:
//! `cargo test --manifest-path host-tests/fuzz/Cargo.toml --no-default-features`.
//!
//! - the seeds decode back to the operations they were written from, and the files in
//!   `corpus/heap_ops/` are their encodings (`WASMHEAP_WRITE_SEEDS=1` rewrites them);
//! - every file of `corpus/heap_ops/` and `regressions/heap_ops/` replays cleanly;
//! - a seeded property run over random bytes (`WASMHEAP_FUZZ_ITERS`, default 100).

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use wasmheap_fuzz::encode::encode;
use wasmheap_fuzz::seeds::seeds;
use wasmheap_fuzz::{Input, run, run_bytes};
use wasmheap_model::Rng;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name).join("heap_ops")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn seeds_round_trip() {
    for (name, input) in seeds() {
        let bytes = encode(&input);
        let decoded = Input::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        assert_eq!(decoded, input, "seed {name}");
    }
}

#[test]
fn corpus_files_are_the_seeds() {
    let corpus = dir("corpus");
    let write = std::env::var_os("WASMHEAP_WRITE_SEEDS").is_some_and(|v| v == "1");
    for (name, input) in seeds() {
        let path = corpus.join(format!("seed-{name}"));
        let bytes = encode(&input);
        if write {
            std::fs::create_dir_all(&corpus).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, bytes, "{} is stale: WASMHEAP_WRITE_SEEDS=1 rewrites it", path.display());
    }
}

#[test]
fn seeds_run_clean() {
    for (name, input) in seeds() {
        eprintln!("seed {name}");
        run(&input);
    }
}

#[test]
fn corpus_replays() {
    for path in files(&dir("corpus")) {
        eprintln!("{}", path.display());
        run_bytes(&std::fs::read(&path).unwrap());
    }
}

/// Inputs that once made the harness fail; kept here (not in the corpus, so that a campaign does
/// not stop on them while a fix is pending).
#[test]
fn regressions_replay() {
    for path in files(&dir("regressions")) {
        eprintln!("{}", path.display());
        run_bytes(&std::fs::read(&path).unwrap());
    }
}

/// Random operations through the same harness and checks: the fuzz target's work without
/// coverage guidance, on the stable toolchain. (Raw random bytes would decode to a couple of
/// operations only: the operation list stops at the first even "keep going" byte.)
#[test]
fn random_inputs() {
    let var = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (iters, seed) = (var("WASMHEAP_FUZZ_ITERS", 100), var("WASMHEAP_FUZZ_SEED", 1));
    let mut rng = Rng::seeded(seed);
    let mut planned = 0;
    for i in 0..iters {
        let bytes: Vec<u8> = (0..8192).map(|_| rng.next_u64() as u8).collect();
        let mut u = Unstructured::new(&bytes);
        let mut input = Input { buffer: u.arbitrary().unwrap(), initial_end: u.arbitrary().unwrap(), ops: vec![] };
        // small buffers most of the time: they fill up, fail and hit the limits sooner
        if !rng.next_u64().is_multiple_of(4) {
            input.buffer = wasmheap_fuzz::seeds::pages(1 + (rng.next_u64() % 8) as u16);
        }
        let count = rng.next_u64() % 400;
        while (input.ops.len() as u64) < count && !u.is_empty() {
            input.ops.push(u.arbitrary().unwrap());
        }
        planned += input.ops.len();
        if std::panic::catch_unwind(|| run(&input)).is_err() {
            let path = std::env::temp_dir().join(format!("wasmheap-random-{seed}-{i}"));
            std::fs::write(&path, encode(&input)).unwrap();
            panic!("input {i} (seed {seed}) failed; saved to {} (replay: cargo run --example show)", path.display());
        }
    }
    eprintln!("{iters} inputs, {planned} operations");
}
