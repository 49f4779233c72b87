// The demo page: one wasmheap instance (the debug flavor, for its block walk and reports), the
// controls that act on it, and the views redrawn from it after every operation.
import { load, BLOCK_STATES, STAT_FIELDS } from '../wasm/wasmheap.js';
import { describeReport } from './debug.js';
import { DISCARD_PAGE, HATCH_COLOUR, HeapMap, STATE_COLOURS, TAGS } from './heapmap.js';
import { TRACES, timeTrace } from './bench.js';

const $ = (id) => document.getElementById(id);
const hex = (v) => `0x${(v >>> 0).toString(16).padStart(5, '0')}`;
const fmt = (n) => n.toLocaleString('en-US');
const frame = () => new Promise((ok) => requestAnimationFrame(() => ok()));
const TAG = { manual: 1, random: 2, image: 3, level: 4, string: 5, bug: 6 };
export const ALLOCATORS = ['wasmheap', 'talc', 'rlsf', 'dlmalloc', 'lol_alloc'];

let heap;             // the WasmHeap
let levelLoader, stringBuilder; // the client modules' exports
let selected = 0;     // the selected block's pointer
let reportsSeen = 0;  // reports shown so far
/** Marks in force as the page took them, oldest first: {kind: 'mark'|'floor'|'level', mark, label, level?}. */
let stack = [];
/** Blocks of the random workload. */
let randomLive = [];
const map = new HeapMap($('heapmap'));

// ---- one action at a time -------------------------------------------------------------------
let chain = Promise.resolve();
let pending = 0;
function act(fn) {
  pending += 1;
  document.body.dataset.busy = '1';
  chain = chain.then(fn).catch(showError).finally(() => {
    try { refresh(); } catch (e) { showError(e); }
    pending -= 1;
    if (pending === 0) document.body.dataset.busy = '0';
  });
  return chain;
}
function showError(e) {
  console.error(e);
  const el = $('error');
  el.hidden = false;
  el.textContent = `error: ${e?.message ?? e}`;
}
function tagged(tag, fn) {
  heap.setTag(tag);
  try { return fn(); } finally { heap.setTag(0); }
}

// ---- the views -------------------------------------------------------------------------------
/** The module's own figures (what `stats(out)` writes) and the pages of memory. */
function moduleStats() {
  const s = heap.rawStats();
  s.pages = heap.memory.buffer.byteLength / 65536;
  s.fragmentation = s.free_bytes ? 1 - s.largest_free / s.free_bytes : 0;
  return s;
}

function refresh() {
  if (!heap) return;
  const s = moduleStats();
  for (const td of document.querySelectorAll('#stats td[data-stat]')) {
    const k = td.dataset.stat;
    td.dataset.value = String(s[k]);
    td.textContent = k === 'fragmentation' ? `${(s[k] * 100).toFixed(1)} %` : fmt(s[k]);
  }
  const end = heap.memory.buffer.byteLength;
  const blocks = heap.blocks();
  if (selected && !blocks.some((b) => b.state === 'used' && b.ptr === selected)) selected = 0;
  map.draw(blocks, s.heap_start, end, selected);
  const counts = Object.fromEntries(BLOCK_STATES.map((st) => [st, 0]));
  for (const b of blocks) counts[b.state] = (counts[b.state] ?? 0) + 1;
  const el = $('map-counts');
  el.replaceChildren(...Object.entries(counts).map(([st, n]) => {
    const span = document.createElement('span');
    span.dataset.state = st;
    span.dataset.count = String(n);
    span.textContent = `${st}: ${n}   `;
    return span;
  }));
  el.dataset.blocks = String(blocks.length);
  $('map-caption').textContent = `${fmt(end - s.heap_start)} bytes from the heap's start ${hex(s.heap_start)} to the end of memory ` +
    `${hex(end)} (${s.pages} pages), ${map.bytesPerPixel} bytes a pixel; the top is at ${hex(s.heap_top)}. ` +
    'Segments (marks) are underlined, each from its record block (orange). ' +
    `Hatched: ${fmt(map.discardable.reduce((a, r) => a + r.len, 0))} bytes in ${map.discardable.length} ranges of whole ` +
    `${DISCARD_PAGE / 1024} KiB pages that a host could give back to the OS (what discardable() lists in the other ` +
    'flavors for these blocks; this debug flavor keeps poison there and lists none).';
  const d = $('map-caption').dataset;
  d.discardableBytes = String(map.discardable.reduce((a, r) => a + r.len, 0));
  d.discardableRanges = String(map.discardable.length);
  showReports();
  $('selected').textContent = selected ? `${hex(selected)} (${fmt(heap.size(selected))} bytes)` : 'none';
  $('selected').dataset.ptr = String(selected);
  const marks = $('marks');
  marks.replaceChildren(...stack.map((e, i) => {
    const li = document.createElement('li');
    li.dataset.kind = e.kind;
    li.textContent = e.kind === 'floor' ? `${e.label} ` : `${e.label} (token ${hex(e.mark)}) `;
    if (e.kind !== 'floor') {
      const b = document.createElement('button');
      b.className = 'free-to-mark';
      b.textContent = e.kind === 'level' ? 'unload (free_to_mark)' : 'free_to_mark';
      b.onclick = () => act(() => freeToMark(i));
      li.append(b);
    }
    return li;
  }));
}

function showReports() {
  const list = heap.reports(reportsSeen);
  const ol = $('reports');
  for (const li of ol.querySelectorAll('li.new')) li.classList.remove('new');
  for (const r of list) {
    const li = document.createElement('li');
    li.className = 'new';
    li.dataset.code = String(r.code);
    li.value = r.seq;
    li.textContent = describeReport(r).replace(/^#\d+ /, '');
    ol.append(li);
    reportsSeen = Math.max(reportsSeen, r.seq + 1);
  }
  ol.scrollTop = ol.scrollHeight;
}

function legend() {
  const items = [
    ...Object.entries(TAGS).map(([, [label, colour]]) => [`live: ${label}`, colour]),
    ['free (class list)', STATE_COLOURS.free], ['free, binned', STATE_COLOURS.binned],
    ['mark record (control)', STATE_COLOURS.control], ['the heap\'s root', STATE_COLOURS.root], ['top: untouched to the end of memory', STATE_COLOURS.top],
    ['hatched: pages a host could give back (discardable)', `repeating-linear-gradient(135deg, ${HATCH_COLOUR} 0 2px, transparent 2px 5px)`],
  ];
  $('legend').replaceChildren(...items.map(([label, colour]) => {
    const s = document.createElement('span');
    const i = document.createElement('i');
    i.style.background = colour;
    s.append(i, label);
    return s;
  }));
}

// ---- heap map interaction --------------------------------------------------------------------
function canvasPoint(ev) {
  const c = map.canvas, r = c.getBoundingClientRect();
  return [(ev.clientX - r.left) * (c.width / r.width), (ev.clientY - r.top) * (c.height / r.height)];
}
map.canvas.addEventListener('mousemove', (ev) => {
  const b = map.blockAt(...canvasPoint(ev));
  const tip = $('tip');
  if (!b) { tip.hidden = true; return; }
  const lines = b.state === 'root'
    ? [`the heap's root at ${hex(b.address)}`, `${fmt(b.size)} bytes: counters, top, depth,`, 'floor and the table of segments']
    : [`${b.state} block at ${hex(b.address)}`, `capacity ${fmt(b.size)} bytes`, `segment ${b.depth}`];
  if (b.state === 'used') {
    lines.push(`pointer ${hex(b.ptr)}`, `requested ${fmt(b.request)} bytes`, `id ${b.id}`, `tag ${b.tag}: ${TAGS[b.tag]?.[0] ?? '?'}`);
  }
  tip.textContent = lines.join('\n');
  tip.hidden = false;
  const wrap = $('map-wrap').getBoundingClientRect();
  tip.style.left = `${Math.min(ev.clientX - wrap.left + 14, wrap.width - 220)}px`;
  tip.style.top = `${ev.clientY - wrap.top + 14}px`;
  tip.dataset.address = String(b.address);
});
map.canvas.addEventListener('mouseleave', () => { $('tip').hidden = true; });
map.canvas.addEventListener('click', (ev) => {
  const b = map.blockAt(...canvasPoint(ev));
  if (b?.state === 'used') act(() => { selected = b.ptr; });
});

// ---- controls --------------------------------------------------------------------------------
const intOf = (id) => {
  const v = Number($(id).value);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${id}: not a whole number: ${$(id).value}`);
  return v;
};

/** After free_all or free_to_mark: the random workload forgets its blocks that went (the debug
 *  flavor's live walk, debug_live, says which are still live). */
function afterMassFree() {
  const live = new Set(heap.leaks().map((a) => a.ptr));
  randomLive = randomLive.filter((p) => live.has(p));
}

function freeToMark(i) {
  const e = stack[i];
  if (e.kind === 'level') levelLoader.level_unload(e.level);
  else heap.freeToMark(e.mark);
  stack = stack.slice(0, i);
  afterMassFree();
}

function freeAll() {
  heap.freeAll();
  // free_all empties the floor and drops every segment above it; the floor stays.
  let floor = -1;
  stack.forEach((e, i) => { if (e.kind === 'floor') floor = i; });
  stack = stack.slice(0, floor + 1);
  afterMassFree();
}

function freeAllMark() {
  const depth = heap.rawStats().mark_depth;
  heap.freeAllMark();
  if (heap.rawStats().mark_depth > depth) stack.push({ kind: 'floor', mark: 0, label: 'floor (free_all_mark)' });
}

$('btn-allocate').onclick = () => act(() => {
  const n = intOf('alloc-size');
  const p = tagged(TAG.manual, () => heap.allocate(n));
  if (p === 0) throw new Error(`allocate(${n}) returned 0: out of memory`);
  selected = p;
});
$('btn-free').onclick = () => act(() => {
  if (!selected) return;
  heap.deallocate(selected);
  selected = 0;
});
$('btn-realloc').onclick = () => act(() => {
  if (!selected) return;
  const p = tagged(TAG.manual, () => heap.reallocate(selected, intOf('realloc-size')));
  if (p === 0) throw new Error('reallocate returned 0: out of memory (the block is untouched)');
  selected = p;
});
$('btn-mark').onclick = () => act(() => {
  const m = heap.freeGetMark();
  if (m === 0) throw new Error('free_get_mark returned 0 (255 marks deep, or no memory for the record)');
  stack.push({ kind: 'mark', mark: m, label: `mark ${stack.filter((e) => e.kind === 'mark').length + 1}` });
});
$('btn-free-all-mark').onclick = () => act(freeAllMark);
$('btn-free-all').onclick = () => act(freeAll);
$('btn-check').onclick = () => act(() => {
  const c = heap.check();
  $('check-result').textContent = c === 0 ? 'check() = 0: sound' : `check() = ${c}: broken`;
});

const speed = $('speed');
const showSpeed = () => { $('speed-value').textContent = speed.value; };
speed.oninput = showSpeed;
showSpeed();

$('btn-random').onclick = () => act(async () => {
  const total = intOf('random-ops');
  let done = 0;
  let seed = 0x2545F491;
  const rand = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 2 ** 32; };
  const counts = { allocate: 0, free: 0, reallocate: 0, failed: 0 };
  while (done < total) {
    const n = Math.min(total - done, Number(speed.value));
    tagged(TAG.random, () => {
      for (let i = 0; i < n; i++) {
        const r = rand();
        if (!randomLive.length || r < 0.5) {
          const size = Math.max(1, Math.floor(Math.exp(rand() * Math.log(2048))));
          const p = heap.allocate(size);
          if (p) { randomLive.push(p); counts.allocate += 1; } else counts.failed += 1;
        } else {
          const k = Math.floor(rand() * randomLive.length);
          if (r < 0.6) {
            const p = heap.reallocate(randomLive[k], Math.max(1, Math.floor(Math.exp(rand() * Math.log(4096)))));
            if (p) { if (randomLive[k] === selected) selected = p; randomLive[k] = p; counts.reallocate += 1; } else counts.failed += 1;
          } else {
            if (randomLive[k] === selected) selected = 0;
            heap.deallocate(randomLive[k]);
            randomLive[k] = randomLive[randomLive.length - 1];
            randomLive.pop();
            counts.free += 1;
          }
        }
      }
    });
    done += n;
    $('random-status').textContent = `${done} / ${total} ops: ${counts.allocate} allocate, ${counts.free} free, ` +
      `${counts.reallocate} reallocate, ${counts.failed} failed; ${randomLive.length} of its blocks live`;
    refresh();
    await frame();
  }
  $('random-status').dataset.done = String(done);
});

// ---- plant a bug -----------------------------------------------------------------------------
function planted(what, fn) {
  return act(() => {
    const before = heap.reportCount();
    const detail = tagged(TAG.bug, fn);
    const found = heap.reports(before);
    const out = $('bug-result');
    out.dataset.codes = found.map((r) => r.code).join(',');
    out.textContent = `${what}: ${detail}\n→ ` + (found.length ? found.map(describeReport).join('\n→ ') : 'no report');
  });
}
$('bug-overrun').onclick = () => planted('overrun', () => {
  const p = heap.allocate(24);
  heap.u8[p + 24] = 0xEE; // one byte past the 24 requested
  heap.deallocate(p);
  return `allocate(24) = ${hex(p)}, wrote byte ${hex(p + 24)}, deallocate`;
});
$('bug-uaf').onclick = () => planted('write after free', () => {
  const p = heap.allocate(40);
  heap.deallocate(p);
  heap.u8[p + 8] = 0x5A; // inside the freed block, past its free-list link
  const before = heap.reportCount();
  const again = [];
  for (let i = 0; i < 8 && heap.reportCount() === before; i++) {
    const q = heap.allocate(40); // until the block is handed out again and its poison checked
    again.push(q);
    if (q === p) break;
  }
  const how = heap.reportCount() > before ? `${again.length} allocate(40)` : 'check()';
  if (heap.reportCount() === before) heap.check();
  for (const q of again) heap.deallocate(q);
  return `allocate(40) = ${hex(p)}, deallocate, wrote byte ${hex(p + 8)}; found by ${how}`;
});
$('bug-underrun').onclick = () => planted('underrun', () => {
  const p = heap.allocate(24);
  const saved = heap.u8[p - 1];
  heap.u8[p - 1] = 0xEE; // one byte before the block: the top byte of its header's tag
  heap.deallocate(p); // refused: a smashed header
  heap.u8[p - 1] = saved; // the demo mends the header so that the page's heap stays sound
  heap.deallocate(p);
  return `allocate(24) = ${hex(p)}, wrote byte ${hex(p - 1)}, deallocate (then the byte put back and freed)`;
});
$('bug-double-free').onclick = () => planted('double free', () => {
  const p = heap.allocate(16);
  heap.deallocate(p);
  heap.deallocate(p);
  return `allocate(16) = ${hex(p)}, deallocate twice`;
});

// ---- allocate, process, free_all: histogram equalisation -------------------------------------
function drawGray(canvas, gray, w, h) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = gray[i];
    img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

$('btn-image').onclick = () => act(async () => {
  const frames = Math.max(1, intOf('image-frames'));
  const w = 160, h = 120, n = w * h;
  freeAllMark(); // a floor: free_all below releases only each frame's buffers
  const liveBefore = heap.rawStats().live_blocks;
  let result = null;
  for (let f = 0; f < frames; f++) {
    const buffers = tagged(TAG.image, () => ({
      src: heap.allocArray(Uint8Array, n),     // the input image (8-bit gray)
      hist: heap.allocArray(Uint32Array, 256), // its histogram
      lut: heap.allocArray(Uint8Array, 256),   // the equalising lookup table
      dst: heap.allocArray(Uint8Array, n),     // the output
    }));
    const src = buffers.src.array;
    // A low-contrast scene: values 90..150, rings that move from frame to frame.
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const d = Math.hypot(x - w / 2 - 20 * Math.cos(f / 3), y - h / 2 - 15 * Math.sin(f / 4));
        src[y * w + x] = 120 + Math.round(25 * Math.sin(d / 6 + f / 2) + 5 * Math.sin(x / 3) * Math.cos(y / 5));
      }
    }
    const hist = buffers.hist.array;
    hist.fill(0);
    for (let i = 0; i < n; i++) hist[src[i]] += 1;
    let cdf = 0, cdfMin = 0;
    const lut = buffers.lut.array;
    for (let v = 0; v < 256; v++) {
      cdf += hist[v];
      if (cdfMin === 0 && cdf > 0) cdfMin = cdf;
      lut[v] = n === cdfMin ? v : Math.round(((cdf - cdfMin) / (n - cdfMin)) * 255);
    }
    const dst = buffers.dst.array;
    for (let i = 0; i < n; i++) dst[i] = lut[src[i]];
    const range = (a) => { let lo = 255, hi = 0; for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; } return [lo, hi]; };
    result = { frame: f + 1, in: range(src), out: range(dst), live: heap.rawStats().live_bytes };
    drawGray($('img-src'), src, w, h);
    drawGray($('img-dst'), dst, w, h);
    refresh();
    await frame();
    freeAll(); // the frame's four buffers, at once
    $('image-status').textContent = `frame ${result.frame}/${frames}: 4 buffers (${fmt(2 * n + 256 * 5)} bytes) allocated, ` +
      `gray levels ${result.in[0]}–${result.in[1]} equalised to ${result.out[0]}–${result.out[1]}, then free_all()`;
  }
  const after = heap.rawStats().live_blocks;
  const st = $('image-status');
  st.textContent += `; live blocks ${liveBefore} before, ${after} after`;
  Object.assign(st.dataset, { frames: String(frames), inLo: result.in[0], inHi: result.in[1], outLo: result.out[0], outHi: result.out[1], liveBefore, liveAfter: after });
});

// ---- game levels -----------------------------------------------------------------------------
function loadLevel(id, count) {
  const level = tagged(TAG.level, () => levelLoader.level_load(id, count) >>> 0);
  if (level === 0) throw new Error(`level_load(${id}, ${count}) returned 0: out of memory`);
  const mark = heap.u32[level >>> 2]; // the level block's first word: its mark
  const ok = levelLoader.level_verify(level) === 1;
  stack.push({ kind: 'level', mark, level, label: `level ${id}: ${count} entities at ${hex(level)}, ${ok ? 'verified' : 'CORRUPT'}` });
  return ok;
}
let levelIds = 0;
$('btn-level-load').onclick = () => act(() => {
  const ok = loadLevel(++levelIds, Math.max(1, intOf('level-count')));
  $('level-status').textContent = `level ${levelIds} loaded, level_verify: ${ok ? 'ok' : 'FAILED'}`;
});
$('btn-level-unload').onclick = () => act(() => {
  const i = stack.findLastIndex((e) => e.kind === 'level');
  if (i < 0) return;
  freeToMark(i);
  $('level-status').textContent = 'the newest level unloaded with free_to_mark';
});
$('btn-level-play').onclick = () => act(async () => {
  const count = Math.max(1, intOf('level-count'));
  const before = heap.rawStats();
  const first = stack.length;
  let verified = 0;
  for (let k = 0; k < 3; k++) {
    if (loadLevel(++levelIds, count + 10 * k)) verified += 1;
    refresh();
    await frame();
    await new Promise((ok) => setTimeout(ok, 120));
  }
  const peak = heap.rawStats();
  freeToMark(first); // the oldest of the three: one free_to_mark releases all three
  const after = heap.rawStats();
  const st = $('level-status');
  st.textContent = `3 nested levels loaded (${fmt(peak.live_blocks - before.live_blocks)} blocks, ${fmt(peak.live_bytes - before.live_bytes)} bytes), ` +
    `${verified} of 3 verified; one free_to_mark: live blocks ${before.live_blocks} → ${peak.live_blocks} → ${after.live_blocks}`;
  Object.assign(st.dataset, { verified, liveBefore: before.live_blocks, livePeak: peak.live_blocks, liveAfter: after.live_blocks });
});

// ---- strings ---------------------------------------------------------------------------------
let lastText = 0;
$('btn-string').onclick = () => act(() => {
  const text = $('string-input').value;
  const copies = Math.max(1, intOf('string-copies'));
  if (lastText) { heap.deallocate(lastText); lastText = 0; }
  const sb = stringBuilder;
  const out = tagged(TAG.string, () => {
    const p = heap.writeString(text);
    const b = sb.sb_new() >>> 0;
    if (b === 0) throw new Error('sb_new: out of memory');
    for (let i = 1; i <= copies; i++) {
      const ok = sb.sb_push_u32(b, i) && sb.sb_push(b, 0x3A) && sb.sb_push(b, 0x20)
        && sb.sb_append(b, p, heap.size(p)) && sb.sb_push(b, 0x0A);
      if (!ok) throw new Error('string builder: out of memory');
    }
    heap.deallocate(p);
    const grows = sb.sb_grows(b);
    return { grows, text: sb.sb_finish(b) >>> 0 };
  });
  lastText = out.text;
  const read = heap.readString(out.text);
  $('string-output').textContent = read;
  $('string-status').textContent = `${fmt(heap.size(out.text))} bytes at ${hex(out.text)}, built in the heap by the ` +
    `string builder with ${out.grows} reallocate calls; read back with readString`;
  $('string-status').dataset.bytes = String(heap.size(out.text));
  $('string-status').dataset.ptr = String(out.text);
});

// The same block, transformed in place by the client module: the pointer does not change.
$('btn-upper').onclick = () => act(() => {
  if (!lastText) throw new Error('build a text first');
  const changed = stringBuilder.str_upper(lastText) >>> 0;
  $('string-output').textContent = heap.readString(lastText);
  $('string-status').textContent = `str_upper changed ${changed} bytes of the block at ${hex(lastText)} in place ` +
    `(its ${fmt(heap.size(lastText))} bytes, as size() says); read back with readString`;
  $('string-status').dataset.ptr = String(lastText);
});

// ---- benchmark -------------------------------------------------------------------------------
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const BAR_COLOURS = { wasmheap: '#3d7ee0', talc: '#8e5bd6', rlsf: '#1aa6a6', dlmalloc: '#d9534f', lol_alloc: '#e0a33a' };

function drawChart(results, trace) {
  const chart = $('bench-chart');
  const W = Number(chart.getAttribute('width')), H = Number(chart.getAttribute('height'));
  chart.replaceChildren();
  const panels = [
    ['nsPerOp', 'time per operation (ns, lower is better)', (v) => v.toFixed(1)],
    ['memoryBytes', 'peak linear memory: at the end, it never shrinks (KiB, lower is better)', (v) => fmt(Math.round(v / 1024))],
  ];
  const pw = W / 2, top = 44, bottom = 36, barH = H - top - bottom;
  chart.append(svg('text', { x: 0, y: 14, 'font-weight': 'bold' }, `${trace.name}: ${fmt(trace.ops.length / 3)} operations. ${trace.desc}`));
  panels.forEach(([key, title, label], pi) => {
    const x0 = pi * pw + 10;
    chart.append(svg('text', { x: x0, y: 34 }, title));
    const ok = results.filter((r) => r[key] !== undefined);
    const max = Math.max(...ok.map((r) => r[key]), 1e-9);
    const bw = (pw - 40) / results.length;
    results.forEach((r, i) => {
      const x = x0 + i * bw;
      chart.append(svg('text', { x: x + bw / 2, y: H - 8, 'text-anchor': 'middle' }, r.name));
      if (r[key] === undefined) {
        chart.append(svg('text', { x: x + bw / 2, y: top + barH / 2, 'text-anchor': 'middle' }, 'failed'));
        return;
      }
      const h = Math.max(1, (r[key] / max) * (barH - 16));
      chart.append(svg('rect', {
        class: 'bar', 'data-alloc': r.name, 'data-metric': key, 'data-value': String(r[key]),
        x: x + 6, y: top + barH - h, width: bw - 12, height: h, fill: BAR_COLOURS[r.name] ?? '#888',
      }));
      chart.append(svg('text', { x: x + bw / 2, y: top + barH - h - 4, 'text-anchor': 'middle' }, label(r[key])));
    });
  });
}

const modules = new Map();
async function compiled(name) {
  if (!modules.has(name)) {
    const url = name === 'wasmheap' ? new URL('../wasm/wasmheap.wasm', import.meta.url) : new URL(`peers/${name}.wasm`, import.meta.url);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url.pathname}: ${res.status} (scripts/serve builds the peers)`);
    modules.set(name, await WebAssembly.compileStreaming(res));
  }
  return modules.get(name);
}

$('btn-bench').onclick = () => act(async () => {
  const name = $('bench-trace').value;
  const scale = Number($('bench-scale').value);
  const status = $('bench-status');
  status.textContent = `generating the ${name} trace…`;
  delete status.dataset.done;
  await frame();
  const trace = TRACES[name](scale);
  const results = [];
  for (const a of ALLOCATORS) {
    status.textContent = `running ${a}…`;
    await new Promise((ok) => setTimeout(ok, 0));
    try {
      results.push({ name: a, ...timeTrace(await compiled(a), trace) });
    } catch (e) {
      results.push({ name: a, error: String(e.message ?? e) });
      console.error(`benchmark: ${a}: ${e.message ?? e}`);
    }
  }
  drawChart(results, trace);
  status.textContent = results.map((r) => (r.error ? `${r.name}: ${r.error}` : `${r.name} ${r.nsPerOp.toFixed(1)} ns/op`)).join(' · ');
  status.dataset.done = String(results.length);
});

// ---- start -----------------------------------------------------------------------------------
async function start() {
  heap = await load(new URL('../wasm/wasmheap-debug.wasm', import.meta.url));
  if (!heap.isDebug) throw new Error('wasm/wasmheap-debug.wasm has no debug_blocks export: not the debug flavor');
  $('flavor').textContent = 'wasm/wasmheap-debug.wasm';
  const client = async (name) => (await WebAssembly.instantiateStreaming(fetch(`examples/${name}.wasm`), { wasmheap: heap.exports })).instance.exports;
  [levelLoader, stringBuilder] = await Promise.all([client('level_loader'), client('string_builder')]);
  legend();
  refresh();
  document.body.dataset.ready = '1';
}

window.demo = { map, walk: () => heap.blocks(), get heap() { return heap; }, STAT_FIELDS, moduleStats, idle: () => chain };
act(start);
