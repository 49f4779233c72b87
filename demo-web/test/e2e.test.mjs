// The demo page end to end in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core; playwright's own browser download is not used):
//
//   node --test demo-web/test/        (scripts/test runs it; CHROMIUM=/path/to/chromium to choose)
//
// It serves the repository as scripts/serve does (demo-web/server.mjs, a free port), opens the
// page, works every control and checks after each step that the heap map (block count per state,
// the hatched discardable pages)
// and the statistics panel agree with what the module's own stats() says right then; runs both
// workloads and the string demo; plants each bug and checks the report shown; runs a short
// benchmark and checks the chart has a bar per allocator; fails on any console error; saves a
// screenshot to target/demo-web/screenshot.png (UPDATE_SCREENSHOT=1: also demo-web/screenshot.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, PEERS, buildPeers, startServer } from '../server.mjs';

const which = (cmd) => { try { return execFileSync('which', [cmd], { encoding: 'utf8' }).trim(); } catch { return ''; } };
const CHROMIUM = process.env.CHROMIUM || which('chromium') || which('chromium-browser');
const ALLOCATORS = ['wasmheap', ...PEERS];

let server, browser, page, url;
const consoleErrors = [];

before(async () => {
  assert.ok(CHROMIUM, 'chromium is not installed (apt-get install chromium), or set CHROMIUM');
  buildPeers({ quiet: true });
  ({ server, url } = await startServer(0));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 20_000 }).catch(async (e) => {
    const shown = await page.textContent('#error').catch(() => '');
    throw new Error(`the page did not start: ${shown}\n${consoleErrors.join('\n')}\n${e.message}`);
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Waits until every queued action of the page has run. */
async function idle() {
  await page.waitForFunction(() => document.body.dataset.busy === '0', null, { timeout: 30_000 });
  await page.evaluate(() => window.demo.idle());
}

async function click(selector) {
  await page.click(selector);
  await idle();
}

/** The views, and the truth read here from the module's raw exports (not through the page's
 *  code): stats() into the debug flavor's buffer, and the block walk debug_blocks. */
async function snapshot() {
  return page.evaluate(() => {
    const x = window.demo.heap.exports;
    const out = x.debug_buffer() >>> 0;
    x.stats(out);
    const fields = ['live_blocks', 'live_bytes', 'peak_bytes', 'heap_bytes', 'free_bytes', 'largest_free',
      'allocations', 'frees', 'reallocations', 'failures', 'rejected_frees', 'rejected_marks', 'mark_depth',
      'memory_grows', 'heap_start', 'heap_top'];
    const words = new Uint32Array(x.memory.buffer, out, 16);
    const module = Object.fromEntries(fields.map((f, i) => [f, words[i]]));
    module.pages = x.memory.buffer.byteLength / 65536;
    module.fragmentation = module.free_bytes ? 1 - module.largest_free / module.free_bytes : 0;
    const walk = [];
    for (let from = 0; ;) { // records of 32 bytes, 128 fit the 4096-byte buffer
      const n = x.debug_blocks(from, out, 128) >>> 0;
      const w = new Uint32Array(x.memory.buffer, out, n * 8);
      for (let i = 0; i < n; i++) {
        walk.push({ address: w[8 * i], size: w[8 * i + 1], state: ['used', 'free', 'binned', 'control', 'top'][w[8 * i + 2]], ptr: w[8 * i + 4], request: w[8 * i + 5] });
      }
      if (n < 128) break;
      from = walk[walk.length - 1].address + 1;
    }
    const panel = Object.fromEntries([...document.querySelectorAll('#stats td[data-stat]')]
      .map((td) => [td.dataset.stat, Number(td.dataset.value)]));
    const counts = Object.fromEntries([...document.querySelectorAll('#map-counts span[data-state]')]
      .map((sp) => [sp.dataset.state, Number(sp.dataset.count)]));
    const discardable = window.demo.map.discardable;
    const caption = document.getElementById('map-caption').dataset;
    return { module, panel, counts, walk, discardable, caption, marks: document.querySelectorAll('#marks li').length, check: x.check() };
  });
}

/** The statistics panel and the heap map agree with the module; returns the snapshot. */
async function agree(what) {
  const s = await snapshot();
  for (const [k, v] of Object.entries(s.panel)) {
    assert.equal(v, s.module[k], `${what}: the panel's ${k} is the module's`);
  }
  assert.equal(Object.keys(s.panel).length, 16, `${what}: 16 figures on the panel`);
  assert.equal(s.check, 0, `${what}: check() = 0`);
  const by = (st) => s.walk.filter((b) => b.state === st);
  assert.equal(s.counts.used, s.module.live_blocks, `${what}: used blocks on the map = live_blocks`);
  assert.equal(by('used').reduce((a, b) => a + b.request, 0), s.module.live_bytes, `${what}: requested bytes of the used blocks = live_bytes`);
  assert.equal(s.counts.control, s.module.mark_depth + 1, `${what}: one record block per segment (mark_depth + 1)`);
  assert.equal([...by('free'), ...by('binned'), ...by('top')].reduce((a, b) => a + b.size, 0), s.module.free_bytes,
    `${what}: free, binned and top bytes on the map = free_bytes`);
  assert.equal(s.counts.top, 1, `${what}: one top`);
  for (const st of ['used', 'free', 'binned', 'control', 'top']) {
    assert.equal(s.counts[st], by(st).length, `${what}: the map's ${st} count is the walk's`);
  }
  // The hatched pages: whole 4 KiB pages, each inside a free or binned block past its first 12
  // bytes and before its last 4, or above the top; and every such page is hatched.
  const page = 4096, end = s.module.pages * 65536;
  const room = [...by('free'), ...by('binned')].map((b) => [b.address + 12, b.address + b.size - 4])
    .concat(by('top').map((b) => [b.address, end]));
  const expected = room.map(([lo, hi]) => [Math.ceil(lo / page) * page, Math.floor(hi / page) * page])
    .filter(([a, b]) => a < b).map(([a, b]) => ({ start: a, len: b - a }));
  assert.deepEqual(s.discardable, expected, `${what}: the hatched pages are the discardable ones`);
  for (const r of s.discardable) {
    assert.ok(room.some(([lo, hi]) => lo <= r.start && r.start + r.len <= hi), `${what}: ${r.start}+${r.len} holds no kept byte`);
  }
  assert.equal(Number(s.caption.discardableBytes), s.discardable.reduce((a, r) => a + r.len, 0), `${what}: the caption's figure`);
  return s;
}

test('the page loads the debug flavor and both client modules', async () => {
  assert.equal(await page.textContent('#flavor'), 'wasm/wasmheap-debug.wasm');
  assert.equal(await page.evaluate(() => typeof window.demo.heap.exports.debug_blocks), 'function');
  const s = await agree('at start');
  assert.equal(s.counts.used, 0, 'no live block at start: the wrapper keeps none in the debug flavor');
});

test('a large block freed at the top: its pages are hatched as discardable', async () => {
  const before = await agree('before the large block');
  await page.fill('#alloc-size', '300000');
  await click('#btn-allocate');
  const ptr = Number(await page.getAttribute('#selected', 'data-ptr'));
  const taken = await agree('the large block allocated');
  const inside = (s) => s.discardable.filter((r) => r.start < ptr + 300000 && r.start + r.len > ptr).length;
  assert.equal(inside(taken), 0, 'no hatched page inside a live block');
  await click('#btn-free');
  const freed = await agree('the large block freed');
  const bytes = (s) => s.discardable.reduce((a, r) => a + r.len, 0);
  assert.ok(bytes(freed) >= bytes(taken) + 300000 - 2 * 4096, `hatched bytes ${bytes(taken)} -> ${bytes(freed)}`);
  assert.ok(inside(freed) > 0, 'the freed block\'s pages are hatched');
  assert.equal(freed.module.live_blocks, before.module.live_blocks);
});

test('allocate, free, reallocate, marks, free_to_mark, free_all_mark, free_all', async () => {
  const s0 = await agree('before');
  await page.fill('#alloc-size', '300');
  await click('#btn-allocate');
  await page.fill('#alloc-size', '5000');
  await click('#btn-allocate');
  const big = Number(await page.getAttribute('#selected', 'data-ptr'));
  assert.ok(big > 0, 'the new block is selected');
  await page.fill('#alloc-size', '40');
  await click('#btn-allocate');
  let s = await agree('3 allocations');
  assert.equal(s.module.live_blocks, s0.module.live_blocks + 3);
  assert.equal(s.module.live_bytes, s0.module.live_bytes + 5340);

  // A click, the page agreeing with the module after it, and the live blocks it leaves.
  const step = async (button, what, blocks, message) => {
    await click(button);
    const after = await agree(what);
    assert.equal(after.module.live_blocks, s0.module.live_blocks + blocks, message ?? what);
    return after;
  };
  s = await step('#btn-free', 'one freed', 2); // the 40-byte block

  { // select the 5000-byte block on the map: hover shows it, a click selects it
    const { address } = (await snapshot()).walk.find((b) => b.ptr === big);
    const position = await page.evaluate((address) => { // CSS pixels from the canvas's corner
      const b = { address };
      const [cx, cy] = window.demo.map.pointOf(b.address + 8);
      const c = document.getElementById('heapmap'), r = c.getBoundingClientRect();
      return { x: cx * r.width / c.width, y: cy * r.height / c.height };
    }, address);
    await page.locator('#heapmap').hover({ position });
    const tip = await page.textContent('#tip');
    assert.match(tip, /used block/);
    assert.match(tip, /requested 5,000 bytes/);
    await page.locator('#heapmap').click({ position });
    await idle();
    assert.equal(Number(await page.getAttribute('#selected', 'data-ptr')), big, 'a click on the map selects the block');
  }
  await page.fill('#realloc-size', '9000');
  await click('#btn-realloc');
  s = await agree('reallocated');
  assert.equal(s.module.live_bytes, s0.module.live_bytes + 9300);

  await click('#btn-mark');
  assert.equal((await snapshot()).marks, 1, 'the mark is listed');
  await page.fill('#alloc-size', '700');
  await click('#btn-allocate');
  await click('#btn-allocate');
  s = await agree('a mark and 2 blocks after it');
  assert.equal(s.module.mark_depth, s0.module.mark_depth + 1);
  s = await step('#marks li:last-child button.free-to-mark', 'free_to_mark', 2, 'the 2 blocks after the mark went');
  assert.equal(s.marks, 0, 'the mark is used up');
  assert.equal(s.module.mark_depth, s0.module.mark_depth);

  await click('#btn-free-all-mark');
  await step('#btn-allocate', 'free_all_mark and a block', 3);
  await step('#btn-free-all', 'free_all', 2, 'blocks under the floor survive free_all');

  await page.fill('#random-ops', '400');
  await page.fill('#speed', '100');
  await click('#btn-random');
  assert.equal(await page.getAttribute('#random-status', 'data-done'), '400');
  await agree('random workload');
  await click('#btn-free-all');
  await agree('free_all after the workload');
});

test('image filter: allocate, process, free_all per frame', async () => {
  await page.fill('#image-frames', '4');
  await click('#btn-image');
  const d = await page.evaluate(() => ({ ...document.getElementById('image-status').dataset }));
  assert.equal(d.frames, '4');
  assert.equal(d.liveAfter, d.liveBefore, 'free_all released every frame buffer');
  assert.ok(Number(d.outHi) - Number(d.outLo) > 2 * (Number(d.inHi) - Number(d.inLo)), `equalised: ${JSON.stringify(d)}`);
  await agree('after the filter');
});

test('game levels: nested marks in a wasm client, one free_to_mark', async () => {
  await page.fill('#level-count', '30');
  await click('#btn-level-play');
  const d = await page.evaluate(() => ({ ...document.getElementById('level-status').dataset }));
  assert.equal(d.verified, '3', 'level_verify of each level');
  assert.ok(Number(d.livePeak) >= Number(d.liveBefore) + 3 * 31, `the levels' blocks: ${JSON.stringify(d)}`);
  assert.equal(d.liveAfter, d.liveBefore, 'one free_to_mark released all three levels');
  const s0 = await agree('before a level');
  await click('#btn-level-load');
  let s = await agree('a level loaded');
  assert.equal(s.marks, s0.marks + 1, 'the level is listed');
  assert.equal(s.module.mark_depth, s0.module.mark_depth + 1);
  await click('#btn-level-unload');
  s = await agree('the level unloaded');
  assert.equal(s.marks, s0.marks);
  assert.equal(s.module.live_blocks, s0.module.live_blocks);
});

test('string demo: the string builder module builds in the heap, transforms it in place, read back', async () => {
  await page.fill('#string-input', 'grüße, heap');
  await page.fill('#string-copies', '30');
  await click('#btn-string');
  const expected = Array.from({ length: 30 }, (_, i) => `${i + 1}: grüße, heap\n`).join('');
  assert.equal(await page.textContent('#string-output'), expected);
  assert.equal(await page.getAttribute('#string-status', 'data-bytes'), String(Buffer.byteLength(expected)));
  assert.match(await page.textContent('#string-status'), /with [1-9]\d* reallocate calls/);
  const ptr = await page.getAttribute('#string-status', 'data-ptr');
  await click('#btn-upper');
  assert.equal(await page.textContent('#string-output'), expected.replaceAll('heap', 'HEAP').replaceAll('gr', 'GR').replaceAll('e,', 'E,'));
  assert.equal(await page.getAttribute('#string-status', 'data-ptr'), ptr, 'the same block');
  assert.match(await page.textContent('#string-status'), /str_upper changed 210 bytes/);
  await agree('after the string demo');
});

test('plant a bug: each detector of the debug flavor reports it', async () => {
  const expect = [
    ['#bug-overrun', 4, /overrun \(code 4\) at 0x[0-9a-f]+, allocation id \d+: first changed byte at 0x[0-9a-f]+/],
    ['#bug-uaf', 5, /write after free \(code 5\) at 0x[0-9a-f]+.*: first changed byte at 0x[0-9a-f]+/],
    ['#bug-underrun', 1, /bad deallocate \(code 1\) at 0x[0-9a-f]+: smashed header/],
    ['#bug-double-free', 1, /bad deallocate \(code 1\) at 0x[0-9a-f]+.*: already free/],
  ];
  for (const [button, code, text] of expect) {
    const before = await page.locator('#reports li').count();
    await click(button);
    const codes = (await page.getAttribute('#bug-result', 'data-codes')).split(',').map(Number);
    assert.ok(codes.includes(code), `${button}: report codes ${codes}`);
    assert.match(await page.textContent('#bug-result'), text);
    const shown = await page.locator('#reports li.new').allTextContents();
    assert.ok(shown.some((t) => text.test(t)), `${button}: the report list shows it: ${shown}`);
    assert.ok(await page.locator('#reports li').count() > before);
    await agree(`after ${button}`);
  }
});

test('benchmark: a bar per allocator for time and memory', async () => {
  await page.selectOption('#bench-trace', 'mixed');
  await page.selectOption('#bench-scale', '0.05');
  await click('#btn-bench');
  assert.equal(await page.getAttribute('#bench-status', 'data-done'), String(ALLOCATORS.length));
  for (const metric of ['nsPerOp', 'memoryBytes']) {
    const bars = await page.$$eval(`#bench-chart rect.bar[data-metric="${metric}"]`,
      (rs) => rs.map((r) => [r.dataset.alloc, Number(r.dataset.value), Number(r.getAttribute('height'))]));
    assert.deepEqual(bars.map((b) => b[0]), ALLOCATORS, `${metric}: one bar per allocator`);
    for (const [name, value, height] of bars) {
      assert.ok(value > 0 && Number.isFinite(value) && height > 0, `${metric} ${name}: ${value}`);
    }
  }
  assert.doesNotMatch(await page.textContent('#bench-status'), /failed|error/i);
});

test('a screenshot, and no console error all along', async () => {
  await page.selectOption('#bench-scale', '0.25');
  await page.selectOption('#bench-trace', 'small');
  await click('#btn-bench');
  await page.fill('#alloc-size', '2000');
  for (let i = 0; i < 3; i++) await click('#btn-allocate');
  await page.fill('#random-ops', '150');
  await click('#btn-random');
  await click('#btn-mark');
  await page.fill('#level-count', '25');
  await click('#btn-level-load');
  await click('#btn-string');
  await click('#btn-upper');
  await agree('the screenshot\'s state');
  const dir = join(ROOT, 'target/demo-web');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'screenshot.png'), fullPage: true });
  if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(join(dir, 'screenshot.png'), join(ROOT, 'demo-web/screenshot.png'));
  assert.deepEqual(consoleErrors, []);
});
