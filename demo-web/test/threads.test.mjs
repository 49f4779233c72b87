// The threads page (demo-web/threads.html) in headless Chromium: the server sends COOP and COEP,
// so the page is cross-origin isolated and may share a WebAssembly.Memory; 4 Web Workers load
// wasm/wasmheap-shared.wasm over one memory and allocate into one heap at once, freeing each
// other's blocks; the page draws the table's blocks live over the heap. Checked: the map drew
// blocks while the workers ran, check() is 0 from the page and from every worker, and the
// heap's statistics agree with the table (plus the 64-byte block each of the five wrappers keeps
// for stats()).
//
//   node --test demo-web/test/        (scripts/test runs it; CHROMIUM=/path/to/chromium to choose)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { startServer } from '../server.mjs';

const which = (cmd) => { try { return execFileSync('which', [cmd], { encoding: 'utf8' }).trim(); } catch { return ''; } };
const CHROMIUM = process.env.CHROMIUM || which('chromium') || which('chromium-browser');

let server, browser, page, url;
const consoleErrors = [];

before(async () => {
  assert.ok(CHROMIUM, 'chromium is not installed (apt-get install chromium), or set CHROMIUM');
  ({ server, url } = await startServer(0));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  await page.goto(`${url}threads.html`);
  await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 20_000 }).catch(async (e) => {
    throw new Error(`the page did not start: ${await page.textContent('#error').catch(() => '')}\n${consoleErrors.join('\n')}\n${e.message}`);
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the page is cross-origin isolated: the server sends COOP and COEP', async () => {
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
  assert.equal(await page.textContent('#isolated'), 'true');
});

test('4 workers allocate into one heap at once, the map live; check() == 0 and the statistics agree', async () => {
  await page.fill('#workers', '4');
  await page.fill('#ops', '20000');
  await page.click('#btn-start');
  await page.waitForFunction(() => window.threads.error || (window.threads.result && document.body.dataset.running === '0'),
    null, { timeout: 120_000 });
  const { error, result, maxDrawn } = await page.evaluate(() => ({ error: window.threads.error, result: window.threads.result, maxDrawn: window.threads.maxDrawn }));
  assert.equal(error, null);
  assert.equal(result.workers, 4);
  assert.equal(result.check, 0);
  assert.deepEqual(result.workerChecks, [0, 0, 0, 0]);
  assert.ok(maxDrawn > 50, `the map drew at most ${maxDrawn} blocks`);
  // The table's blocks, and one 64-byte block for stats() per wrapper (4 workers and the page).
  assert.equal(result.stats.live_blocks, result.tableBlocks + 5);
  assert.equal(result.stats.allocations - result.stats.frees, result.stats.live_blocks);
  assert.equal(result.stats.failures + result.stats.rejected_frees, 0);
  assert.equal(result.stats.allocations + result.stats.frees, 4 * 20000 + 5);
  assert.match(await page.textContent('#status'), /^done: check\(\) = 0/);
  assert.deepEqual(consoleErrors, []);
});
