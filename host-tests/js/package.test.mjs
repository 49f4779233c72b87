// The npm package: `npm pack` in the repository root makes wasmheap-<version>.tgz; a scratch
// project installs it offline and imports it as a user would (`import { load } from "wasmheap"`,
// `load()` finding wasmheap.wasm next to the wrapper, the .wasm files through the exports map,
// the types through `tsc --strict`).
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--ignore-scripts'],
  { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

const FILES = [
  'CHANGELOG.md', 'LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'package.json', 'wasm/FLAVORS.md',
  'wasm/wasmheap-c.wasm', 'wasm/wasmheap-debug.wasm', 'wasm/wasmheap-import-memory.wasm', 'wasm/wasmheap-libc.c', 'wasm/wasmheap-libc.h',
  'wasm/wasmheap-shared.wasm', 'wasm/wasmheap-static.wasm', 'wasm/wasmheap-tiny.wasm', 'wasm/wasmheap.d.ts', 'wasm/wasmheap.h', 'wasm/wasmheap.js', 'wasm/wasmheap.wasm',
];

test('package.json: an ES module with an exports map and types, no install scripts', () => {
  assert.equal(manifest.name, 'wasmheap');
  assert.equal(manifest.type, 'module');
  assert.equal(manifest.license, 'MIT OR Apache-2.0');
  assert.equal(manifest.types, './wasm/wasmheap.d.ts');
  assert.deepEqual(manifest.exports['.'], { types: './wasm/wasmheap.d.ts', default: './wasm/wasmheap.js' });
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare', 'prepack', 'postpack']) {
    assert.equal(manifest.scripts?.[script], undefined, `no ${script} script`);
  }
  assert.deepEqual(Object.keys(manifest.dependencies ?? {}), [], 'no run-time dependencies');
  const cargo = readFileSync(join(root, 'Cargo.toml'), 'utf8');
  assert.equal(cargo.match(/^version = "(.*)"$/m)[1], manifest.version, 'the crate and the package share a version');
  assert.match(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${manifest.version.replace(/\./g, '\\.')} `, 'm'),
    'CHANGELOG.md has an entry for this version');
});

test('npm pack, then a scratch project installs the tarball offline and uses it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmheap-npm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root));
  assert.equal(packed.name, 'wasmheap');
  assert.deepEqual(packed.files.map((f) => f.path).sort(), FILES, 'exactly these files');
  for (const f of packed.files.filter((f) => f.path.startsWith('wasm/'))) {
    assert.equal(f.size, readFileSync(join(root, f.path)).length, `${f.path} is the checked-in file`);
  }
  const tarball = join(dir, packed.filename);

  const project = join(dir, 'project');
  execFileSync('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  npm(['install', '--offline', tarball], project);
  assert.ok(existsSync(join(project, 'node_modules/wasmheap/wasm/wasmheap.wasm')));

  writeFileSync(join(project, 'main.js'), `
import { load, WasmHeap, STAT_FIELDS } from "wasmheap";
import { readFile } from "node:fs/promises";
const heap = await load();                                  // ./wasmheap.wasm next to the wrapper
const p = heap.writeString("from the tarball");
const im = await load(new URL(import.meta.resolve("wasmheap/wasmheap-import-memory.wasm")));
const c = await load(await readFile(new URL(import.meta.resolve("wasmheap/wasmheap-c.wasm"))));
const st = await load(new URL(import.meta.resolve("wasmheap/wasmheap-static.wasm")));
const stPtr = st.allocate(100);
const tiny = await WebAssembly.instantiate(await readFile(new URL(import.meta.resolve("wasmheap/wasmheap-tiny.wasm"))));
const tinyPtr = tiny.instance.exports.allocate(100);
const sh = await load(new URL(import.meta.resolve("wasmheap/wasmheap-shared.wasm")),
  { memory: new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true }), start: 1024 });
let refused = "";
try { heap.allocate(2 ** 32); } catch (e) { refused = e.constructor.name; }
console.log(JSON.stringify({
  wasmheap: heap instanceof WasmHeap, text: heap.readString(p), check: heap.check(),
  fields: STAT_FIELDS.length, im: im.check(), c: typeof c.exports.malloc, refused,
  static: stPtr !== 0 && st.check() === 0, tiny: tiny.instance.exports.size(tinyPtr),
  shared: sh.isShared && sh.size(sh.allocate(24)) === 24 && sh.check() === 0,
  resolved: import.meta.resolve("wasmheap"),
}));
`);
  const out = JSON.parse(execFileSync(process.execPath, ['main.js'], { cwd: project, encoding: 'utf8' }));
  assert.deepEqual(out, {
    wasmheap: true, text: 'from the tarball', check: 0, fields: 16, im: 0, c: 'function', refused: 'RangeError',
    static: true, tiny: 100, shared: true,
    resolved: `file://${project}/node_modules/wasmheap/wasm/wasmheap.js`,
  });
  // Nothing outside the exports map is reachable, and CommonJS require() is refused (an ES module).
  assert.throws(() => execFileSync(process.execPath, ['--input-type=module', '-e', 'await import("wasmheap/wasm/wasmheap.js")'],
    { cwd: project, stdio: 'pipe' }), /ERR_PACKAGE_PATH_NOT_EXPORTED/);

  if (!existsSync(tsc)) {
    assert.notEqual(process.env.CI, 'true', 'CI must have TypeScript: npm ci in the repository root');
    t.diagnostic('SKIPPED the TypeScript half: TypeScript is not installed (npm ci in the repository root)');
    return;
  }
  writeFileSync(join(project, 'main.ts'), `
import { load, type WasmheapExports } from "wasmheap";
const heap = await load();
const x: WasmheapExports = heap.exports;
const mark: number = heap.exports.free_get_mark();
x.free_to_mark(mark);
export {};
`);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
      lib: ['es2022', 'dom'], types: [] },
    files: ['main.ts'],
  }));
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
});
