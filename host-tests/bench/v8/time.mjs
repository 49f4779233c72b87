// V8 timing for the benchmark runner (host-tests/bench/src/v8.rs), run under Node as
//
//   node --expose-gc host-tests/bench/v8/time.mjs JOB.json
//
// JOB.json names the driver module, the allocator modules (the bytes the runner times in
// wasmtime, after wasm-opt) and one trace's op list, encoded as the runner writes it into the
// driver's memory (8 bytes an op). This script mirrors the runner's wasmtime timing
// (`replay_time` and the rounds of `bench_trace`):
//
// - every module is compiled once; every run is a fresh allocator instance with a fresh driver
//   instance linked to its exports and memory, the op list written into the driver's memory;
// - the trace is replayed once untimed in that instance, then timed 3 times back to back and the
//   fastest counts (once only when the untimed replay took over 0.3 s or the memory passed
//   512 MiB);
// - rounds visit the allocators in a rotating order; an allocator whose timed run takes over
//   `slowMs` is timed in no later round; `skip` ones (that failed in wasmtime) are not run.
//
// A warm-up comes first: one fresh instance per allocator replays the trace once, untimed, so
// that V8's tiering (Liftoff, then TurboFan for hot functions) has settled before any run is
// timed. A full GC after every run (outside the timing) frees the instance's memories, as
// dropping the wasmtime store does.
//
// Prints one JSON object: {"node", "v8", "times": [[ns, ...] per allocator], "errors": [null or
// text per allocator]}.
import { readFileSync } from "node:fs";

const PAGE = 65536;
const WARM_LIMIT_NS = 300e6;
const MEMORY_LIMIT = 512 * 1024 * 1024;

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const gc = globalThis.gc ?? (() => {});
const now = () => process.hrtime.bigint();

const compile = (path) => new WebAssembly.Module(readFileSync(path));
const driver = compile(job.driver);
const allocs = job.allocs.map((a) => (a.skip ? null : compile(a.path)));
const ops = new Uint8Array(readFileSync(job.ops));
const n = ops.length / 8;

/// A fresh allocator instance with the driver linked to it and the ops loaded (`load_ops`).
function session(module) {
  const { allocate, deallocate, reallocate, memory } = new WebAssembly.Instance(module, {})
    .exports;
  const d = new WebAssembly.Instance(driver, {
    alloc: { allocate, deallocate, reallocate, memory },
  }).exports;
  const slotsBytes = job.slots * 8;
  const need = slotsBytes + ops.length;
  const have = d.dmem.buffer.byteLength;
  if (need > have) d.dmem.grow(Math.ceil((need - have) / PAGE));
  const bytes = new Uint8Array(d.dmem.buffer);
  bytes.fill(0, 0, slotsBytes);
  bytes.set(ops, slotsBytes);
  return { run: () => d.run(slotsBytes, n, 0) >>> 0, memory };
}

/// The runner's `replay_time`: nanoseconds of the fastest timed replay.
function replayTime(module) {
  const s = session(module);
  let t = now();
  let done = s.run();
  const warm = Number(now() - t);
  if (done !== n) throw new Error(`allocation failed at op ${done} (warm-up run)`);
  const repeats = warm > WARM_LIMIT_NS || s.memory.buffer.byteLength > MEMORY_LIMIT ? 1 : 3;
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    t = now();
    done = s.run();
    best = Math.min(best, Number(now() - t));
    if (done !== n) throw new Error(`allocation failed at op ${done} (timed run)`);
  }
  return best;
}

const k = allocs.length;
const times = allocs.map(() => []);
const errors = allocs.map(() => null);
const dropped = allocs.map((m) => m === null);
/// Runs `f(a)` for every allocator still in; an exception drops it with its error.
function visit(order, f) {
  for (const a of order) {
    if (dropped[a]) continue;
    try {
      f(a);
    } catch (e) {
      errors[a] = `${e}`;
      dropped[a] = true;
    }
    gc();
  }
}
const indices = allocs.map((_, a) => a);
visit(indices, (a) => {
  const done = session(allocs[a]).run();
  if (done !== n) throw new Error(`allocation failed at op ${done} (warm-up)`);
});
for (let round = 0; round < job.reps; round++) {
  visit(
    indices.map((i) => (i + round) % k),
    (a) => {
      const ns = replayTime(allocs[a]);
      times[a].push(ns);
      if (ns > job.slowMs * 1e6) dropped[a] = true;
    },
  );
}
process.stdout.write(
  JSON.stringify({ node: process.version, v8: process.versions.v8, times, errors }) + "\n",
);
