// One thread of shared.test.mjs: an instance of wasm/wasmheap-shared.wasm of its own over the shared
// memory, joined to the heap with init, then a random program on the table that all threads share.
//
// The table (an Int32Array over a SharedArrayBuffer) has 4 words a slot: a spin lock (this file's,
// not the heap's), the block's pointer (0: empty), its size and the seed of its pattern. A thread
// takes a slot's lock, then allocates into it, or checks its block's pattern and frees, moves or
// sizes it: most blocks are freed by another thread than the one that allocated them.
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, table: tableBuffer, tid, ops, seed, region, mode } = workerData;
const { exports: x } = new WebAssembly.Instance(module, { env: { memory } });
if (!process.env.NOBLOCK) x.set_may_block(1); // a worker may block: after its spin a waiter sleeps in memory.atomic.wait32
if (x.init(region, 0) !== 1) throw new Error(`thread ${tid}: init(${region}, 0) failed`);
const table = new Int32Array(tableBuffer);
const slots = table.length / 4;

let state = (seed ^ (tid * 0x9e3779b1)) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
};
const below = (n) => Math.floor(rand() * n);

let bytes = new Uint8Array(memory.buffer);
/** A view that reaches `end`: another thread may have grown memory (a shared buffer is not detached, but a view keeps its length). */
// Another thread's memory.grow may not show in this thread's memory.buffer yet (V8 updates it
// later): memory.grow(0) brings it up to date (the JS API's "refresh the memory buffer").
let refreshes = 0;
const view = (end) => {
  if (end > bytes.length) bytes = new Uint8Array(memory.buffer);
  if (end > bytes.length) {
    memory.grow(0);
    refreshes++;
    bytes = new Uint8Array(memory.buffer);
  }
  if (end > bytes.length) fail(`memory.buffer is ${bytes.length} bytes, short of ${end} even after memory.grow(0)`);
  return bytes;
};
const fill = (ptr, size, s) => {
  const b = view(ptr + size);
  for (let i = 0; i < size; i++) b[ptr + i] = (s + i * 31 + (i >>> 8)) & 255;
};
const holds = (ptr, size, s) => {
  const b = view(ptr + size);
  for (let i = 0; i < size; i++) if (b[ptr + i] !== ((s + i * 31 + (i >>> 8)) & 255)) return false;
  return true;
};
const lock = (slot) => {
  while (Atomics.compareExchange(table, 4 * slot, 0, 1) !== 0);
};
const unlock = (slot) => Atomics.store(table, 4 * slot, 0);

const counts = { allocations: 0, frees: 0, reallocations: 0, marks: 0 };
const fail = (message) => {
  throw new Error(`thread ${tid}: ${message}`);
};

function randomOp(op) {
  const slot = below(slots);
  lock(slot);
  try {
    const ptr = table[4 * slot + 1] >>> 0;
    const blockSeed = (seed + tid * 7919 + op) & 0xffffff;
    if (ptr === 0) {
      const size = below(20) === 0 ? 1024 + below(8192) : 1 + below(256);
      let p, align = 8;
      if (below(5) === 0) {
        align = 1 << (3 + below(9));
        p = x.allocate_aligned(size, align) >>> 0;
      } else p = x.allocate(size) >>> 0;
      if (p === 0 || p % align !== 0 || p < region) fail(`allocate(${size}, ${align}) = ${p}`);
      counts.allocations++;
      fill(p, size, blockSeed);
      table[4 * slot + 1] = p;
      table[4 * slot + 2] = size;
      table[4 * slot + 3] = blockSeed;
      return;
    }
    const size = table[4 * slot + 2];
    const s = table[4 * slot + 3];
    if (!holds(ptr, size, s)) fail(`block ${ptr} of ${size} bytes was overwritten`);
    const what = below(10);
    if (what < 5) {
      x.deallocate(ptr);
      counts.frees++;
      table[4 * slot + 1] = 0;
    } else if (what < 8) {
      const next = 1 + below(2 * size + 64);
      const p = x.reallocate(ptr, next) >>> 0;
      if (p === 0) fail(`reallocate(${ptr}, ${next}) failed`);
      const kept = Math.min(size, next);
      const b = view(p + kept);
      for (let i = 0; i < kept; i++) if (b[p + i] !== ((s + i * 31 + (i >>> 8)) & 255)) fail(`reallocate lost byte ${i}`);
      counts.reallocations++;
      fill(p, next, blockSeed);
      table[4 * slot + 1] = p;
      table[4 * slot + 2] = next;
      table[4 * slot + 3] = blockSeed;
    } else if (x.size(ptr) >>> 0 !== size) fail(`size(${ptr}) is not ${size}`);
  } finally {
    unlock(slot);
  }
}

// mode 'marks': thread 0 takes marks, allocates and releases to them (or calls free_all) while
// the others allocate and free blocks of their own; blocks of theirs that a mark covers are
// released under them (marks are the heap's), so only soundness is checked (check() at the end).
function marksOp(mine) {
  if (tid === 0) {
    const mark = x.free_get_mark() >>> 0;
    for (let i = below(10); i > 0; i--) x.allocate(1 + below(500));
    if (below(10) === 0) x.free_all();
    else x.free_to_mark(mark);
    counts.marks++;
  } else if (mine.length === 0 || below(2) === 0) {
    mine.push(x.allocate(1 + below(500)) >>> 0);
  } else {
    const i = below(mine.length);
    x.deallocate(mine[i]);
    mine[i] = mine[mine.length - 1];
    mine.pop();
  }
}

const mine = [];
for (let op = 0; op < ops; op++) {
  if (mode === 'marks') marksOp(mine);
  else randomOp(op);
}
parentPort.postMessage({ counts, check: x.check() >>> 0, refreshes });
