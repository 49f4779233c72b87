// Wasm client modules linked to a wasmheap instance in JavaScript, with an import object: the
// WAT examples of host-tests/clients/ (compiled here with binaryen.js, from scripts/node_modules).
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import binaryen from '../../scripts/node_modules/binaryen/index.js';
import { load } from '../../wasm/wasmheap.js';

const path = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const bytes = await readFile(path('wasm/wasmheap.wasm'));
const imBytes = await readFile(path('wasm/wasmheap-import-memory.wasm'));

async function wat(name) {
  const module = binaryen.parseText(await readFile(path(`host-tests/clients/${name}`), 'utf8'));
  // What the examples use; with Features.All binaryen may pick encodings Node 20 does not know.
  module.setFeatures(binaryen.Features.MutableGlobals | binaryen.Features.BulkMemory
    | binaryen.Features.BulkMemoryOpt | binaryen.Features.SignExt | binaryen.Features.Multivalue);
  assert.ok(module.validate(), `${name} validates`);
  const binary = module.emitBinary();
  module.dispose();
  return WebAssembly.compile(binary);
}

const stringBuilder = await wat('string_builder.wat');
const levelLoader = await wat('level_loader.wat');
const sharedClient = await wat('shared_memory_client.wat');

test('the string builder imports memory and allocator from the heap instance', async () => {
  const heap = await load(bytes);
  // The import object: the heap's raw exports under the module name "wasmheap". (A Module
  // instantiates to an Instance; bytes would give { module, instance }.)
  const { exports: sb } = await WebAssembly.instantiate(stringBuilder, { wasmheap: heap.exports });
  const b = sb.sb_new() >>> 0;
  let expected = '';
  for (let i = 0; i < 2000; i++) {
    assert.equal(sb.sb_push_u32(b, i * 7919), 1);
    assert.equal(sb.sb_push(b, 0x20), 1);
    expected += `${i * 7919} `;
  }
  const word = heap.writeString('grüße');
  assert.equal(sb.sb_append(b, word, heap.size(word)), 1);
  expected += 'grüße';
  heap.deallocate(word);
  assert.ok(sb.sb_grows(b) >= 10);
  const text = sb.sb_finish(b) >>> 0;
  assert.equal(heap.readString(text), expected, 'size(text) is its length');
  heap.deallocate(text);
  const s = heap.stats();
  assert.equal(s.live_blocks, 0);
  assert.ok(s.reallocations >= 10);
  assert.equal(heap.check(), 0);
});

test('the level loader releases a level at once with free_to_mark', async () => {
  const { instance } = await WebAssembly.instantiate(bytes); // bytes: { module, instance }
  const x = instance.exports;
  const { exports: ll } = await WebAssembly.instantiate(levelLoader, { wasmheap: x });
  const keep = x.allocate(64) >>> 0;
  const levels = [];
  for (let id = 1; id <= 5; id++) {
    const l = ll.level_load(id, 100 * id) >>> 0;
    assert.notEqual(l, 0);
    levels.push(l);
  }
  for (const l of levels) assert.equal(ll.level_verify(l), 1);
  ll.level_unload(levels[2]); // takes levels 3, 4 and 5 with it
  assert.equal(ll.level_verify(levels[1]), 1);
  assert.equal(x.size(ll.level_entity(levels[1], 0)) >>> 0, 8 + (2 * 7) % 120);
  ll.level_unload(levels[0]);
  assert.equal(x.size(keep) >>> 0, 64, 'what came before the first level stays');
  // Reloading lands where the first level was.
  assert.equal(ll.level_load(1, 100) >>> 0, levels[0]);
  assert.equal(x.check(), 0);
});

test('import-memory: a client with its own data and stack and the heap leave each other alone', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const u8 = () => new Uint8Array(memory.buffer);
  u8().fill(0x3C);
  u8().fill(0, 0, 0x400); // the client's slot table
  u8().fill(0xA5, 0x1400, 0x5400); // the client's stack
  const heap = (await WebAssembly.instantiate(imBytes, { env: { memory } })).instance.exports;
  const { exports: client } = await WebAssembly.instantiate(sharedClient, { env: { memory }, wasmheap: heap });
  assert.equal(client.setup(0x5400, 0), 1);
  for (const seed of [1, 2]) assert.equal(client.churn(seed, 3000), 0, `churn(${seed})`);

  const m = u8();
  for (let j = 0; j < 0x1000; j++) assert.equal(m[0x400 + j], (j * 37 + 11) & 255, `data byte ${j}`);
  assert.ok(m.subarray(0x1400, 0x5400).every((b) => b === 0xA5), 'the client stack area');
  const table = new Uint32Array(memory.buffer, 0, 256);
  let live = 0;
  for (let slot = 0; slot < 128; slot++) {
    const [ptr, size] = [table[2 * slot], table[2 * slot + 1]];
    if (ptr === 0) continue;
    live += 1;
    assert.ok(ptr >= 0x5400 + 4096);
    assert.equal(heap.size(ptr) >>> 0, size);
    for (let k = 0; k < size; k++) {
      if (m[ptr + k] !== ((slot * 29 + size * 7 + k * 13) & 255)) assert.fail(`slot ${slot} byte ${k}`);
    }
  }
  assert.ok(live > 20);
  assert.equal(heap.check(), 0);
  assert.ok(memory.buffer.byteLength > 65536, 'the heap grew the shared memory');
});
