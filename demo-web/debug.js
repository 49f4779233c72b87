// The debug flavor's walks (wasm/wasmheap-debug.wasm), read through the wrapper's methods when
// wasm/wasmheap.js has them, else through the raw exports and the module's own scratch buffer
// (debug_buffer(): 4096 bytes outside the heap).
export const STATES = ['used', 'free', 'binned', 'control', 'top'];
export const REPORT_NAMES = {
  1: 'bad deallocate', 2: 'bad reallocate', 3: 'stale mark', 4: 'overrun', 5: 'write after free', 6: 'heap corrupted',
};
export const BAD_POINTER = { 1: 'misaligned', 2: 'outside the heap', 3: 'already free', 4: 'not a live block' };

export const isDebug = (heap) => typeof heap.exports.debug_blocks === 'function';

/** Pages through a walk export: `walk(from, out, max)` writing records of `words` u32 each;
 *  `next(record)` is the `from` of the following call. */
function walk(heap, fn, words, next, from = 0) {
  const x = heap.exports;
  const out = x.debug_buffer() >>> 0;
  const max = Math.floor(4096 / (words * 4));
  const records = [];
  for (;;) {
    const n = fn(from, out, max) >>> 0;
    const w = new Uint32Array(heap.memory.buffer, out, n * words);
    for (let i = 0; i < n; i++) records.push(Array.from(w.subarray(i * words, (i + 1) * words)));
    if (n < max) return records;
    from = next(records[records.length - 1]);
  }
}

/** Every block of the heap in address order: {address, size, state, depth, ptr, request, id, tag}. */
export function blocks(heap) {
  if (typeof heap.blocks === 'function') return heap.blocks();
  const x = heap.exports;
  return walk(heap, x.debug_blocks, 8, (r) => r[0] + 1).map(([address, size, state, depth, ptr, request, id, tag]) =>
    ({ address, size, state: STATES[state] ?? `state ${state}`, depth, ptr, request, id, tag }));
}

/** The live allocations: {ptr, size, id, tag}. */
export function leaks(heap) {
  if (typeof heap.leaks === 'function') return heap.leaks();
  const x = heap.exports;
  return walk(heap, x.debug_live, 4, (r) => r[0] + 1).map(([ptr, size, id, tag]) => ({ ptr, size, id, tag }));
}

/** Reports numbered >= from still in the ring: {seq, code, name, ptr, id, detail}. */
export function reports(heap, from = 0) {
  let list;
  if (typeof heap.reports === 'function') {
    list = heap.reports(from);
  } else {
    const x = heap.exports;
    list = walk(heap, x.debug_reports, 5, (r) => r[0] + 1, from)
      .map(([seq, code, ptr, id, detail]) => ({ seq, code, name: REPORT_NAMES[code] ?? `code ${code}`, ptr, id, detail }));
  }
  return list;
}

export function reportCount(heap) { return heap.exports.debug_report_count() >>> 0; }

export function setTag(heap, tag) {
  if (typeof heap.setTag === 'function') heap.setTag(tag); else heap.exports.debug_set_tag(tag);
}

/** A report as one line of text. */
export function describeReport(r) {
  const hex = (v) => `0x${(v >>> 0).toString(16)}`;
  let what = `#${r.seq} ${REPORT_NAMES[r.code] ?? r.name} (code ${r.code}) at ${hex(r.ptr)}`;
  if (r.id) what += `, allocation id ${r.id}`;
  if (r.code === 1 || r.code === 2) what += `: ${BAD_POINTER[r.detail] ?? `detail ${r.detail}`}`;
  else if (r.code === 4 || r.code === 5) what += `: first changed byte at ${hex(r.detail)}`;
  else if (r.code === 6) what += `: check() code ${r.detail}`;
  return what;
}
