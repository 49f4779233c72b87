// A Web Worker of threads.html: loads wasm/wasmheap-shared.wasm over the page's shared memory (one
// call), then runs random operations on the shared table: an empty slot gets a block (a pattern
// in it), a full one has its pattern checked and is freed or moved; the slot's owner word says
// which worker allocated the block, so that the page can colour it. Pauses between batches so
// that the page's map moves visibly.
import { load } from '../wasm/wasmheap.js';

onmessage = async ({ data: { module, memory, table: tableBuffer, progress: progressBuffer, tid, ops, start } }) => {
  try {
    const heap = await load(module, { memory, start, mayBlock: true }); // a worker may block
    const table = new Int32Array(tableBuffer); // [lock, ptr, size, owner + 1] per slot
    const progress = new Int32Array(progressBuffer);
    const slots = table.length / 4;
    let s = (tid + 1) * 0x9e3779b1 >>> 0;
    const rand = (n) => {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      return (s >>> 0) % n;
    };
    const pattern = (p, size, on) => {
      const u8 = heap.view(Uint8Array, p, size).array; // reaches the block even if another worker grew memory
      for (let i = 0; i < size; i++) {
        const want = (p + i * 7) & 255;
        if (on) u8[i] = want;
        else if (u8[i] !== want) throw new Error(`worker ${tid}: block ${p} was overwritten`);
      }
    };
    for (let op = 0; op < ops; op++) {
      const k = rand(slots);
      while (Atomics.compareExchange(table, 4 * k, 0, 1) !== 0);
      try {
        const p = table[4 * k + 1] >>> 0;
        if (p === 0) {
          const size = 16 + rand(rand(8) === 0 ? 4000 : 400);
          const q = heap.allocate(size);
          if (q === 0) throw new Error(`worker ${tid}: allocate(${size}) failed`);
          pattern(q, size, true);
          table[4 * k + 1] = q; table[4 * k + 2] = size; Atomics.store(table, 4 * k + 3, tid + 1);
        } else {
          pattern(p, table[4 * k + 2], false);
          heap.deallocate(p);
          table[4 * k + 1] = 0; Atomics.store(table, 4 * k + 3, 0);
        }
      } finally {
        Atomics.store(table, 4 * k, 0);
      }
      Atomics.add(progress, tid, 1);
      if (op % 500 === 499) await new Promise((r) => setTimeout(r, 4));
    }
    postMessage({ done: true, check: heap.check() });
  } catch (e) {
    postMessage({ error: String(e.stack ?? e) });
  }
};
