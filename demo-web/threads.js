// threads.html: N Web Workers allocating into one heap (wasm/wasmheap-shared.wasm over one shared
// memory), drawn live. The page joins the heap too (it spins, never blocks: a main thread may not)
// for stats() and check(); the map is the shared table's blocks, coloured by the worker that
// allocated each, over the heap from its start to its top.
import { load } from '../wasm/wasmheap.js';

const $ = (id) => document.getElementById(id);
const COLOURS = ['#3d7ee0', '#8e5bd6', '#1aa6a6', '#d9534f', '#e0609f', '#d97706', '#15803d', '#6b7a90'];
const SLOTS = 1024;
const START = 65536; // the heap's region starts here (the page keeps nothing below it)

const state = { heap: null, memory: null, module: null, table: null, progress: null, workers: [], ops: 0, drawn: 0, maxDrawn: 0, error: null };
window.threads = state;

function fail(e) {
  state.error = String(e?.stack ?? e);
  $('error').hidden = false;
  $('error').textContent = state.error;
  document.body.dataset.running = '0';
}

/** The table's blocks: [{ptr, size, owner}] (a snapshot; workers change it meanwhile). */
function blocks() {
  const t = new Int32Array(state.table);
  const out = [];
  for (let k = 0; k < SLOTS; k++) {
    const owner = Atomics.load(t, 4 * k + 3);
    const ptr = t[4 * k + 1] >>> 0;
    if (owner > 0 && ptr !== 0) out.push({ ptr, size: t[4 * k + 2], owner: owner - 1 });
  }
  return out;
}

function draw() {
  const canvas = $('threadmap');
  const ctx = canvas.getContext('2d');
  const s = state.heap.rawStats();
  const start = s.heap_start, end = Math.max(s.heap_top, start + 1);
  const rows = 8, rowH = 16, gap = 4, width = canvas.width;
  const span = end - start, perRow = Math.ceil(span / rows);
  ctx.fillStyle = '#e4e7ec';
  ctx.fillRect(0, 0, width, canvas.height);
  const list = blocks();
  for (const b of list) {
    let a = b.ptr - start;
    const z = a + b.size;
    while (a < z) {
      const row = Math.floor(a / perRow), rowEnd = (row + 1) * perRow;
      const e = Math.min(z, rowEnd);
      ctx.fillStyle = COLOURS[b.owner % COLOURS.length];
      ctx.fillRect(((a - row * perRow) / perRow) * width, row * (rowH + gap), Math.max(1, ((e - a) / perRow) * width), rowH);
      a = e;
    }
  }
  state.drawn = list.length;
  state.maxDrawn = Math.max(state.maxDrawn, list.length);
  const progress = new Int32Array(state.progress);
  const done = Array.from({ length: state.workers.length }, (_, i) => Atomics.load(progress, i));
  $('map-caption').textContent = `${start} to the top ${s.heap_top}: ${list.length} blocks in the table`;
  $('counts').textContent = `operations done: ${done.join(' + ')} = ${done.reduce((a, b) => a + b, 0)}; ` +
    `stats(): ${s.live_blocks} live blocks, ${s.allocations} allocations, ${s.frees} frees, ${s.memory_grows} memory.grow`;
}

async function start() {
  const n = Math.max(1, Math.min(8, Number($('workers').value) | 0));
  const ops = Math.max(1, Number($('ops').value) | 0);
  document.body.dataset.running = '1';
  state.workers.forEach((w) => w.terminate());
  state.memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
  state.heap = await load(state.module, { memory: state.memory, start: START });
  state.table = new SharedArrayBuffer(SLOTS * 16);
  state.progress = new SharedArrayBuffer(4 * n);
  state.ops = ops;
  state.maxDrawn = 0;
  $('legend').innerHTML = Array.from({ length: n }, (_, i) => `<span><i style="background:${COLOURS[i % COLOURS.length]}"></i>worker ${i}</span>`).join('');
  $('status').textContent = `${n} workers running`;
  let frame = 0;
  const tick = () => {
    draw();
    if (document.body.dataset.running === '1') frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
  const results = await Promise.all(Array.from({ length: n }, (_, tid) => new Promise((resolve, reject) => {
    const w = new Worker(new URL('./threads-worker.js', import.meta.url), { type: 'module' });
    state.workers.push(w);
    w.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data));
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage({ module: state.module, memory: state.memory, table: state.table, progress: state.progress, tid, ops, start: START });
  })));
  cancelAnimationFrame(frame);
  draw();
  const check = state.heap.check();
  state.result = { check, workerChecks: results.map((r) => r.check), stats: state.heap.rawStats(), tableBlocks: blocks().length, workers: n };
  $('status').textContent = `done: check() = ${check}, ${state.result.tableBlocks} blocks in the table`;
  document.body.dataset.running = '0';
}

try {
  $('isolated').textContent = String(globalThis.crossOriginIsolated);
  if (!globalThis.crossOriginIsolated) throw new Error('this page needs cross-origin isolation (COOP and COEP headers): serve it with scripts/serve');
  state.module = await WebAssembly.compileStreaming(fetch(new URL('../wasm/wasmheap-shared.wasm', import.meta.url)));
  $('btn-start').onclick = () => start().catch(fail);
  document.body.dataset.ready = '1';
} catch (e) {
  fail(e);
}
