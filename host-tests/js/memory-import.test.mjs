// memoryImport(bytes) of wasm/wasmheap.js: the limits of the memory a module imports, read from
// its import section (WebAssembly.Module.imports gives none). Every case is a module that the
// engine validates, and the engine has the last word: a memory made from the result links, one
// page less (or no maximum where the module sets one) does not. The C programs built against
// wasi-libc, which need it most, are in wasi-libc.test.mjs.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { memoryImport } from '../../wasm/wasmheap.js';

const wasm = (name) => readFileSync(new URL(`../../wasm/${name}`, import.meta.url));

// ---- a small encoder for the modules under test ---------------------------------------------
const leb = (n) => {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const str = (s) => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const section = (id, body) => [id, ...leb(body.length), ...body];
const vec = (items) => [...leb(items.length), ...items.flat()];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const imp = (module, name, kind, desc) => [...str(module), ...str(name), kind, ...desc];
const FUNC = imp('env', 'f', 0x00, [0x00]);
const TABLE = imp('env', 't', 0x01, [0x70, 0x00, 0x01]);
const GLOBAL = imp('env', 'g', 0x03, [0x7f, 0x00]);
const TAG = imp('env', 'e', 0x04, [0x00, 0x00]);
const memory = (flags, ...limits) => imp('env', 'memory', 0x02, [flags, ...limits.flatMap((l) => (Array.isArray(l) ? l : leb(l)))]);

/** A module: a custom section, one type () -> (), the imports, and a custom section after them. */
const BEFORE_IMPORTS = [...HEADER, ...section(0, [...str('before'), 1, 2, 3]), ...section(1, vec([[0x60, 0x00, 0x00]]))];
function module(imports) {
  return new Uint8Array([...BEFORE_IMPORTS, ...section(2, vec(imports)), ...section(0, [...str('after')])]);
}

/** The import object for the non-memory imports of module(). */
function others() {
  return {
    f() {},
    t: new WebAssembly.Table({ initial: 1, element: 'anyfunc' }),
    g: new WebAssembly.Global({ value: 'i32' }, 0),
    e: new WebAssembly.Tag({ parameters: [] }),
  };
}

const links = (bytes, memory) => {
  try {
    new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { ...others(), memory } });
    return true;
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) return false;
    throw e;
  }
};

test('memoryImport: the limits as the engine enforces them, after imports of every other kind', () => {
  const cases = [
    { bytes: module([FUNC, TABLE, GLOBAL, TAG, memory(0x00, 3)]), want: { module: 'env', name: 'memory', initial: 3, shared: false } },
    { bytes: module([memory(0x01, 2, 300), FUNC]), want: { module: 'env', name: 'memory', initial: 2, maximum: 300, shared: false } },
    { bytes: module([GLOBAL, memory(0x03, 1, 10)]), want: { module: 'env', name: 'memory', initial: 1, maximum: 10, shared: true } },
    // wasm-ld pads some numbers to five bytes: 17 as 0x91 0x80 0x80 0x80 0x00.
    { bytes: module([memory(0x00, [0x91, 0x80, 0x80, 0x80, 0x00])]), want: { module: 'env', name: 'memory', initial: 17, shared: false } },
    { bytes: module([memory(0x00, 0)]), want: { module: 'env', name: 'memory', initial: 0, shared: false } },
  ];
  for (const { bytes, want } of cases) {
    assert.ok(WebAssembly.validate(bytes), `the engine takes the module for ${JSON.stringify(want)}`);
    const got = memoryImport(bytes);
    assert.deepEqual(got, want);
    assert.ok(links(bytes, new WebAssembly.Memory(got)), `a memory made from ${JSON.stringify(got)} links`);
    if (got.initial > 0) {
      assert.equal(links(bytes, new WebAssembly.Memory({ ...got, initial: got.initial - 1 })), false, 'one page less does not');
    }
    if (got.maximum !== undefined && !got.shared) {
      assert.equal(links(bytes, new WebAssembly.Memory({ initial: got.initial })), false, 'without the maximum it does not');
    }
  }
  // Its own names, and bytes in any view.
  const named = module([imp('js', 'mem', 0x02, [0x01, ...leb(16385), ...leb(65536)])]);
  assert.ok(WebAssembly.validate(named));
  const want = { module: 'js', name: 'mem', initial: 16385, maximum: 65536, shared: false };
  assert.deepEqual(memoryImport(named), want);
  assert.deepEqual(memoryImport(named.buffer), want);
  assert.deepEqual(memoryImport(Buffer.from(named)), want);
  const inside = new Uint8Array(named.length + 7);
  inside.set(named, 5);
  assert.deepEqual(memoryImport(new DataView(inside.buffer, 5, named.length)), want);
});

test('memoryImport: null for a module that imports no memory', () => {
  assert.equal(memoryImport(new Uint8Array(HEADER)), null);
  assert.equal(memoryImport(module([])), null);
  assert.equal(memoryImport(module([FUNC, TABLE, GLOBAL])), null);
  assert.equal(memoryImport(wasm('wasmheap.wasm')), null, 'the default flavor has a memory of its own');
});

test('memoryImport: the import-memory flavor asks for no page (its host names its region)', () => {
  const bytes = wasm('wasmheap-import-memory.wasm');
  const want = memoryImport(bytes);
  assert.deepEqual(want, { module: 'env', name: 'memory', initial: 0, shared: false });
  const memory = new WebAssembly.Memory(want);
  const heap = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  memory.grow(1);
  assert.equal(heap.init(8, 0), 1);
  assert.notEqual(heap.allocate(100), 0);
  assert.equal(heap.check(), 0);
});

test('memoryImport: malformed bytes are a CompileError, never a wrong answer', () => {
  const imports = [FUNC, GLOBAL, memory(0x01, 2, 300)];
  const bytes = module(imports);
  const whole = memoryImport(bytes);
  const importsEnd = BEFORE_IMPORTS.length + section(2, vec(imports)).length;
  for (let n = 0; n < bytes.length; n++) {
    let got;
    try {
      got = memoryImport(bytes.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof WebAssembly.CompileError, `a cut at ${n}: ${e}`);
      assert.match(e.message, /^wasmheap: memoryImport\(bytes\): .* at byte \d+$/);
      continue;
    }
    // A cut may leave whole sections: before the imports, none; after them, all.
    if (n >= importsEnd) assert.deepEqual(got, whole, `a cut at ${n}`);
    else {
      assert.equal(got, null, `a cut at ${n}`);
      assert.ok(n >= 8 && n <= BEFORE_IMPORTS.length, `a cut at ${n} is a whole module without imports`);
    }
  }
  assert.throws(() => memoryImport(new Uint8Array([0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0])), WebAssembly.CompileError);
  // A component (version 0x0d, layer 1) is not a core module.
  assert.throws(() => memoryImport(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])), /not a core module/);
  assert.throws(() => memoryImport(module([imp('env', 'x', 0x09, [])])), /unknown kind 0x9/);
  assert.throws(() => memoryImport(module([memory(0x10, 1)])), /unknown flags 0x10/);
  assert.throws(() => memoryImport(module([memory(0x00, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])])), /longer than 32 bits/);
  const cut = [...module([FUNC])];
  cut[BEFORE_IMPORTS.length + 1] += 1; // the import section's size, one more than it holds
  assert.throws(() => memoryImport(new Uint8Array(cut)), WebAssembly.CompileError);
});

test('memoryImport: 64-bit memories and custom page sizes are refused, and anything but bytes', () => {
  assert.throws(() => memoryImport(module([memory(0x04, 1)])), {
    name: 'RangeError', message: 'wasmheap: memoryImport(bytes): env.memory is a 64-bit memory; wasmheap is for 32-bit memories',
  });
  assert.throws(() => memoryImport(module([memory(0x08, 1, 0)])), { name: 'RangeError', message: /custom page size/ });
  const compiled = new WebAssembly.Module(module([memory(0x00, 1)]));
  assert.throws(() => memoryImport(compiled), { name: 'TypeError', message: /keeps no memory limits; pass the bytes/ });
  assert.throws(() => memoryImport('wasm/wasmheap.wasm'), { name: 'TypeError', message: /got "wasm\/wasmheap.wasm"/ });
  assert.throws(() => memoryImport([0, 0x61, 0x73, 0x6d]), { name: 'TypeError', message: /an Array/ });
});
