// node host-tests/bench/tiny.mjs [MODULE.wasm ...]: what the tiny flavor's O(n) walks cost and how
// much room it leaves, beside the default module (wasm/FLAVORS.md, 8). Deterministic workloads, in
// V8 (times vary with the machine; the spans do not):
//   churn N   N live blocks of 1-128 bytes, then 20 000 rounds of: free a random one, allocate
//             a new one. Time per round; heap span (highest block end - lowest pointer) over
//             the peak of live bytes.
//   random    2*10^5 random allocate/deallocate, at most 2000 live, sizes 1-128 (one in ten up
//             to 4000). The same two figures.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const files = process.argv.length > 2 ? process.argv.slice(2)
  : ["wasm/wasmheap-tiny.wasm", "wasm/wasmheap.wasm"].map((f) => root + f);

async function run(file, live0, rounds, mixed) {
  const { instance } = await WebAssembly.instantiate(readFileSync(file));
  const x = instance.exports;
  let s = 777;
  const rnd = (n) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
  const live = [];
  let bytes = 0, peak = 0, hi = 0, lo = Infinity;
  const alloc = () => {
    const n = mixed && rnd(10) === 0 ? 1 + rnd(4000) : 1 + rnd(128);
    const p = x.allocate(n) >>> 0;
    if (p === 0) throw new Error(`${file}: out of memory`);
    live.push([p, n]);
    bytes += n; peak = Math.max(peak, bytes); hi = Math.max(hi, p + n); lo = Math.min(lo, p);
  };
  const free = () => {
    const k = rnd(live.length), [p, n] = live[k];
    live[k] = live[live.length - 1]; live.pop(); bytes -= n;
    x.deallocate(p);
  };
  for (let i = 0; i < live0; i++) alloc();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (!mixed) { free(); alloc(); } else if (live.length < 2000 && (live.length === 0 || rnd(2) === 0)) alloc(); else free();
  }
  return { us: ((performance.now() - t0) * 1000) / rounds, span: (hi - lo) / peak };
}

console.log("| workload | module | time per round (us) | heap span / peak live |");
console.log("| --- | --- | ---: | ---: |");
for (const [name, live0, rounds, mixed] of [["churn 100", 100, 20000, false], ["churn 1000", 1000, 20000, false],
  ["churn 10000", 10000, 20000, false], ["random", 0, 200000, true]]) {
  for (const file of files) {
    const r = await run(file, live0, rounds, mixed);
    console.log(`| ${name} | ${file.split("/").pop()} | ${r.us.toFixed(2)} | ${r.span.toFixed(2)} |`);
  }
}
