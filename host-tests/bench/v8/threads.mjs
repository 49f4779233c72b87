// Throughput of one heap shared by Node workers, for the benchmark runner's "Threads" section
// (host-tests/bench/src/shared.rs), run under Node as
//
//   node host-tests/bench/v8/threads.mjs JOB.json
//
// JOB.json: {"modules": [{"name", "path", "kind"}], "workers": [1, 2, 4], "ops": N, "rounds": R,
// "seed": S}. kind "shared": a module of the raw ABI over an imported shared memory (every worker
// instantiates it over one memory and joins the heap with init(1024, 0), set_may_block(1));
// kind "atomics": a Rust program built with +atomics over an imported shared memory (a peer with
// its lock: talc's TalcLock, std's locked dlmalloc, wasmheap's WasmHeap): a first instance in this
// thread initialises its statics and allocates a stack for each worker, which sets its instance's
// __stack_pointer to it; kind "own": a module with its own memory (wasmheap.wasm), run with 1
// worker only (it has no lock): the baseline without a lock. "spin": true (kind "shared"): the
// workers do not call set_may_block, so a waiter spins for as long as it takes, as a browser's main
// thread must.
//
// Each worker first runs a quarter of its operations (at most 10^5) untimed, as a warm-up, and frees what it
// holds; then, timed, `ops` random operations of its own (70 % of the time an allocation of 8–256
// bytes while it holds fewer than 1000 blocks, else a free of a random block of its own; the first
// word of each block written and checked before the free), calling the exports from JavaScript.
// The workers start together (a barrier); the time is from the start to the last worker's end.
// Rounds: a fresh memory and fresh workers each. Prints one JSON object:
// {"results": [{"name", "workers", "ops_per_s": [per round]}]}.
import { readFileSync } from "node:fs";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { memoryImport } from "../../../wasm/wasmheap.js";

const REGION = 1024;
const STACK = 64 * 1024;

if (isMainThread) {
  const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const results = [];
  for (const m of job.modules) {
    const bytes = readFileSync(m.path);
    const module = new WebAssembly.Module(bytes);
    const limits = m.kind === "atomics" ? memoryImport(bytes) : null;
    for (const n of m.kind === "own" ? [1] : job.workers) {
      const rates = [];
      for (let round = 0; round < job.rounds; round++) {
        rates.push(await run(module, m.kind, n, job.ops, job.seed + round, limits, Boolean(m.spin)));
      }
      results.push({ name: m.name, workers: n, ops_per_s: rates });
    }
  }
  console.log(JSON.stringify({ results }));
} else {
  worker();
}

/** One round: `n` workers on a fresh memory; resolves to ops per second, all workers together. */
async function run(module, kind, n, ops, seed, limits, spin) {
  const memory = kind === "shared" ? new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true })
    : kind === "atomics" ? new WebAssembly.Memory(limits) : null;
  // A Rust program: its first instance initialises the statics; it allocates the workers' stacks.
  const stacks = [];
  if (kind === "atomics") {
    const first = new WebAssembly.Instance(module, { env: { memory } }).exports;
    for (let i = 0; i < n; i++) {
      const p = first.allocate(STACK) >>> 0;
      if (p === 0) throw new Error("no stack");
      stacks.push((p + STACK) & ~15);
    }
  }
  const sync = new Int32Array(new SharedArrayBuffer(8)); // [ready workers, go]
  const done = Array.from({ length: n }, (_, tid) => new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { module, kind, memory, sync: sync.buffer, tid, ops, seed, stack: stacks[tid], spin } });
    w.once("message", resolve);
    w.once("error", reject);
  }));
  while (Atomics.load(sync, 0) < n) await new Promise((r) => setTimeout(r, 1));
  const start = process.hrtime.bigint();
  Atomics.store(sync, 1, 1);
  Atomics.notify(sync, 1);
  const ends = await Promise.all(done);
  const end = ends.reduce((a, b) => (b.end > a ? b.end : a), 0n);
  return (n * ops) / (Number(end - start) / 1e9);
}

function worker() {
  const { module, kind, memory, sync: syncBuffer, tid, ops, seed, stack, spin } = workerData;
  const sync = new Int32Array(syncBuffer);
  const imports = memory ? { env: { memory } } : {};
  const x = new WebAssembly.Instance(module, imports).exports;
  if (kind === "atomics") x.__stack_pointer.value = stack; // before any call
  const mem = memory ?? x.memory;
  if (kind === "shared") {
    if (!spin) x.set_may_block(1);
    if (x.init(REGION, 0) !== 1) throw new Error("init refused");
  }
  let s = (seed * 7919 + tid * 104729) >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const blocks = new Uint32Array(1000);
  let live = 0;
  let view = new Int32Array(mem.buffer);
  // Warm-up, untimed: V8 tiers the code up (Liftoff, then TurboFan) in every worker's isolate.
  random(Math.min(ops >> 2, 100_000));
  for (let k = 0; k < live; k++) x.deallocate(blocks[k]);
  live = 0;
  Atomics.add(sync, 0, 1);
  Atomics.wait(sync, 1, 0);
  random(ops);
  const end = process.hrtime.bigint();
  for (let k = 0; k < live; k++) x.deallocate(blocks[k]);
  if (typeof x.check === "function" && x.check() !== 0) throw new Error("check() != 0");
  parentPort.postMessage({ end });

  function random(ops) {
    for (let i = 0; i < ops; i++) {
      if (live === 0 || (live < blocks.length && rand() < 0.7)) {
        const p = x.allocate(8 + Math.floor(rand() * 249)) >>> 0;
        if (p === 0) throw new Error("allocation failed");
        if (p + 4 > view.length * 4) {
          mem.grow(0); // another worker's growth may not show in this thread's buffer yet
          view = new Int32Array(mem.buffer);
        }
        view[p >>> 2] = p;
        blocks[live++] = p;
      } else {
        const k = Math.floor(rand() * live);
        const p = blocks[k];
        if (view[p >>> 2] !== p) throw new Error(`block ${p} was overwritten`);
        x.deallocate(p);
        blocks[k] = blocks[--live];
      }
    }
  }
}
