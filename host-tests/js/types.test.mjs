// wasm/wasmheap.d.ts under `tsc --strict`: host-tests/js/types/usage.ts uses the whole API (the
// raw exports typed by WasmheapExports, no casts) and marks misuse with @ts-expect-error.
// TypeScript is the root package.json's devDependency (pinned in package-lock.json; scripts/test
// installs it with `npm ci` when it is missing).
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const tsc = `${root}node_modules/typescript/bin/tsc`;

test('wasmheap.d.ts: the usage compiles under --strict and misuse does not', (t) => {
  if (!existsSync(tsc)) {
    assert.notEqual(process.env.CI, 'true', 'CI must have TypeScript: npm ci in the repository root');
    t.skip('TypeScript is not installed: npm ci in the repository root');
    return;
  }
  execFileSync(process.execPath, [tsc, '-p', `${root}host-tests/js/types/tsconfig.json`], { stdio: 'inherit' });
});
