// The in-page benchmark: four of the traces of scripts/bench (host-tests/bench/src/traces.rs:
// small, mixed, lifo, fragment; the same generators, seeds and SplitMix64), replayed from
// JavaScript on fresh instances of wasm/wasmheap.wasm and of the peers scripts/bench builds.
// Every call crosses from JavaScript into wasm, the same for every allocator (scripts/bench
// replays from a wasm driver instead, so its times per operation are lower).
const ALLOC = 0, FREE = 1, REALLOC = 2;
const M64 = (1n << 64n) - 1n;

/** SplitMix64, as traces.rs's Rng. */
class Rng {
  constructor(seed) { this.s = BigInt(seed); }
  u64() {
    this.s = (this.s + 0x9E3779B97F4A7C15n) & M64;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64;
    return z ^ (z >> 31n);
  }
  below(n) { return Number((this.u64() * BigInt(n)) >> 64n); }
  range(lo, hi) { return lo + this.below(hi - lo + 1); }
  f64() { return Number(this.u64() >> 11n) / 2 ** 53; }
  chance(p) { return this.f64() < p; }
  logUniform(lo, hi) {
    const a = Math.log(lo), b = Math.log(hi + 1);
    return Math.min(hi, Math.max(lo, Math.floor(Math.exp(a + (b - a) * this.f64()))));
  }
}

/** traces.rs's Builder: ops as (kind, slot, size) with slots reused, the live set and its peak. */
class Builder {
  constructor() {
    this.ops = []; this.size = []; this.pos = []; this.live = []; this.freeSlots = [];
    this.liveBytes = 0; this.peakBytes = 0;
  }
  get length() { return this.ops.length / 3; }
  alloc(size) {
    let slot = this.freeSlots.pop();
    if (slot === undefined) { slot = this.size.length; this.size.push(0); this.pos.push(0); }
    this.size[slot] = size;
    this.pos[slot] = this.live.length;
    this.live.push(slot);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    this.ops.push(ALLOC, slot, size);
    return slot;
  }
  free(slot) {
    const i = this.pos[slot];
    const last = this.live.pop();
    if (i < this.live.length) { this.live[i] = last; this.pos[last] = i; }
    this.liveBytes -= this.size[slot];
    this.size[slot] = 0;
    this.freeSlots.push(slot);
    this.ops.push(FREE, slot, 0);
  }
  realloc(slot, size) {
    this.liveBytes += size - this.size[slot];
    this.size[slot] = size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    this.ops.push(REALLOC, slot, size);
  }
  randomLive(rng) { return this.live[rng.below(this.live.length)]; }
  freeAll() { while (this.live.length) this.free(this.live[this.live.length - 1]); }
  finish(name, desc) {
    return { name, desc, ops: Uint32Array.from(this.ops), slots: this.size.length, peakLiveBytes: this.peakBytes };
  }
}

function randomActions(rng, ops, target, pRealloc, size) {
  const b = new Builder();
  while (b.length < ops) {
    if (pRealloc > 0 && b.live.length && rng.chance(pRealloc)) {
      const slot = b.randomLive(rng);
      b.realloc(slot, size(rng));
      continue;
    }
    const pAlloc = b.live.length < target ? 0.6 : 0.4;
    if (!b.live.length || rng.chance(pAlloc)) b.alloc(size(rng));
    else b.free(b.randomLive(rng));
  }
  b.freeAll();
  return b;
}

/** The generators; `scale` 1 is scripts/bench --quick, smaller values shorten every trace. */
export const TRACES = {
  small(scale) {
    const rng = new Rng(1);
    const ops = Math.round(60_000 * scale), target = Math.round(2_000 * scale);
    return randomActions(rng, ops, target, 0, (r) => r.range(1, 128))
      .finish('small', `random alloc/free, sizes uniform 1–128 B, about ${target} blocks live`);
  },
  mixed(scale) {
    const rng = new Rng(2);
    const ops = Math.round(30_000 * scale), target = Math.round(500 * scale);
    return randomActions(rng, ops, target, 0.1, (r) => r.logUniform(1, 65536))
      .finish('mixed', `random alloc/free/realloc (10 % realloc), sizes log-uniform 1 B–64 KiB, about ${target} blocks live`);
  },
  lifo(scale) {
    const rng = new Rng(3);
    const ops = Math.round(60_000 * scale);
    const b = new Builder();
    const stack = [];
    while (b.length < ops) {
      const pPush = stack.length < 8 ? 0.8 : stack.length > 1000 ? 0.3 : 0.5;
      if (!stack.length || rng.chance(pPush)) stack.push(b.alloc(rng.logUniform(1, 4096)));
      else b.free(stack.pop());
    }
    while (stack.length) b.free(stack.pop());
    return b.finish('lifo', 'stack discipline: every free is of the newest live block; sizes log-uniform 1 B–4 KiB');
  },
  fragment(scale) {
    const rng = new Rng(5);
    const n = Math.round(2_000 * scale), cycles = 5;
    const b = new Builder();
    for (let c = 0; c < cycles; c++) {
      const small = Array.from({ length: n }, () => b.alloc(rng.range(16, 256)));
      for (let i = 0; i < small.length; i += 2) b.free(small[i]);
      const large = Array.from({ length: Math.floor(n / 4) }, () => b.alloc(rng.range(256, 2048)));
      for (let i = 1; i < small.length; i += 2) b.free(small[i]);
      for (const s of large) b.free(s);
    }
    return b.finish('fragment', `${cycles} cycles of: ${n} blocks of 16–256 B, free every other, ${Math.floor(n / 4)} blocks of 256–2048 B, free all`);
  },
};

/** Replays `trace` once on the instance's exports; returns the number of ops done (less than
 *  all of them when an allocation returned 0). */
function replay(x, trace, slots) {
  const { allocate, deallocate, reallocate } = x;
  const ops = trace.ops;
  for (let i = 0; i < ops.length; i += 3) {
    const kind = ops[i], slot = ops[i + 1];
    if (kind === ALLOC) {
      const p = allocate(ops[i + 2]);
      if (p === 0) return i / 3;
      slots[slot] = p;
    } else if (kind === FREE) {
      deallocate(slots[slot]);
    } else {
      const p = reallocate(slots[slot], ops[i + 2]);
      if (p === 0) return i / 3;
      slots[slot] = p;
    }
  }
  return ops.length / 3;
}

/** Times `trace` on `module`: a fresh instance, one untimed replay, then 3 timed samples in it
 *  (the trace frees everything it allocates, so it replays again and again); the fastest
 *  counts. A sample is as many replays back to back as take 5 ms or more (browsers round
 *  performance.now() to 0.1 ms). Peak memory: the instance's memory at the end (wasm memory
 *  never shrinks). */
export function timeTrace(module, trace) {
  const { exports: x } = new WebAssembly.Instance(module, {});
  const slots = new Int32Array(trace.slots);
  const n = trace.ops.length / 3;
  const run = () => {
    const done = replay(x, trace, slots);
    if (done !== n) throw new Error(`allocation failed at op ${done} of ${n}`);
  };
  let t = performance.now();
  run();
  const once = Math.max(performance.now() - t, 0.05);
  const reps = Math.min(1000, Math.max(1, Math.ceil(5 / once)));
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    t = performance.now();
    for (let k = 0; k < reps; k++) run();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return { nsPerOp: (best * 1e6) / n, memoryBytes: x.memory.buffer.byteLength, ops: n, replays: reps };
}
