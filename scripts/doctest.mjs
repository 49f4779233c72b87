// scripts/doctest [FILE.md ...] runs this: the runnable code blocks of the Markdown files given,
// by default of every file in DOCS below (the README and the pages it links to), are run, so that
// none can rot. Without arguments it also fails when a Markdown file in git that is not in DOCS
// has a block marked `run`. scripts/test runs it.
//
// Every ```js, ```sh and ```rust block is marked on its opening line, after the language:
//   run                  run it (from the repository root), it must succeed
//   run needs=a,b        run it when the commands a and b exist (`wasi-libc`: when clang links a
//                        wasm32-wasi program); otherwise it is SKIPPED, loudly (and under CI=true
//                        it fails instead)
//   norun                not run (a fragment, or a command that is the test itself); say why nearby
// An unmarked js/sh/rust block is an error: a new snippet is run, or someone decided it is not.
//
// How: js  `node --input-type=module -e <block>` (relative imports resolve from the root);
//      sh   `bash -euo pipefail -c <block>`;
//      rust the block as src/main.rs of a scratch crate that depends on wasmheap (path = the
//           root), run natively and also built for wasm32-unknown-unknown.
// Expected output: every line of a block that prints (console.log, println!, printf) and ends with a
// `// text` comment expects `text` as the next line of the block's standard output; the block's
// output must be exactly those lines, in order (a block with no such lines only has to succeed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CI = process.env.CI === 'true';
// The Markdown files whose blocks are run: the README, and the pages that took its details.
const DOCS = ['README.md', 'wasm/FLAVORS.md', 'src/CONTRACT.md', 'src/DESIGN.md', 'host-tests/SOAK.md'];
const files = process.argv.slice(2).length ? process.argv.slice(2) : DOCS.map((f) => join(ROOT, f));
const LANGS = { js: 'js', javascript: 'js', sh: 'sh', bash: 'sh', rust: 'rust' };
const TIMEOUT_MS = 10 * 60 * 1000;

/** The fenced blocks of a Markdown file: { line, lang, words, code }. */
function blocks(text) {
  const out = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // A fence may be indented (a block inside a list item): its lines lose that indentation.
    const open = /^( *)(`{3,})(\S*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open;
    const body = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    out.push({ line: i + 1, lang: lang.toLowerCase(), words: rest.split(/\s+/).filter(Boolean), code: `${body.join('\n')}\n` });
    i = j;
  }
  return out;
}

/** The output lines a block promises: `// text` after a console.log(...) or println!(...). */
function expected(code) {
  return code.split('\n')
    .filter((l) => /\b(console\.log\(|println!\(|printf\()/.test(l))
    .map((l) => /\)\s*;?\s*\/\/ (.*)$/.exec(l)?.[1].replace(/\s+$/, ''))
    .filter((e) => e !== undefined);
}

const has = (cmd) => cmd === 'wasi-libc'
  ? spawnSync('clang', ['--target=wasm32-wasi', '-o', '/dev/null', '-x', 'c', '-'],
    { input: 'int main(void) { return 0; }', stdio: ['pipe', 'ignore', 'ignore'] }).status === 0
  : spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 64 << 20, ...options });
  if (r.error) throw r.error;
  return r;
}

function rust(block, where, name) {
  // One scratch crate per block: the file's name and the block's line make it unique.
  const crate = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${block.line}`;
  const dir = join(ROOT, 'target', 'doctest', crate);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), `[package]
name = "${crate}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
wasmheap = { path = ${JSON.stringify(ROOT)} }

[workspace]
`);
  writeFileSync(join(dir, 'src', 'main.rs'), block.code);
  // As a user builds it: no flags from this repository's .cargo/config.toml (RUSTFLAGS, even
  // empty, replaces them).
  const env = { ...process.env, RUSTFLAGS: '', CARGO_TARGET_DIR: join(ROOT, 'target', 'doctest', 'target') };
  const wasm = run('cargo', ['build', '--quiet', '--offline', '--target', 'wasm32-unknown-unknown'], { cwd: dir, env });
  if (wasm.status !== 0) return { ...wasm, stderr: `${where}: cargo build --target wasm32-unknown-unknown failed\n${wasm.stderr}` };
  return run('cargo', ['run', '--quiet', '--offline'], { cwd: dir, env });
}

let passed = 0;
let failed = 0;
const skipped = [];
const norun = [];
for (const file of files) {
  const name = relative(ROOT, resolve(file)) || file;
  for (const block of blocks(readFileSync(file, 'utf8'))) {
    const lang = LANGS[block.lang];
    if (!lang) continue;
    const where = `${name}:${block.line} (${block.lang})`;
    if (block.words.includes('norun')) {
      norun.push(where);
      continue;
    }
    if (!block.words.includes('run')) {
      console.log(`FAILED  ${where}: not marked \`run\` or \`norun\` on its opening line`);
      failed += 1;
      continue;
    }
    const needs = (block.words.find((w) => w.startsWith('needs=')) ?? 'needs=').slice(6).split(',').filter(Boolean);
    const missing = needs.filter((cmd) => !has(cmd));
    if (missing.length) {
      if (CI) {
        console.log(`FAILED  ${where}: needs ${missing.join(', ')}, which CI must have`);
        failed += 1;
      } else {
        console.log(`SKIPPED ${where}: needs ${missing.join(', ')}`);
        skipped.push(`${where} (needs ${missing.join(', ')})`);
      }
      continue;
    }
    const started = Date.now();
    const r = lang === 'js' ? run(process.execPath, ['--input-type=module', '-e', block.code])
      : lang === 'sh' ? run('bash', ['-euo', 'pipefail', '-c', block.code])
        : rust(block, where, name);
    const want = expected(block.code);
    const got = r.stdout.replace(/\n$/, '').split('\n').filter((l, i, a) => a.length > 1 || l !== '');
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (r.status !== 0) {
      console.log(`FAILED  ${where}: exit ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
      failed += 1;
    } else if (want.length && JSON.stringify(got) !== JSON.stringify(want)) {
      console.log(`FAILED  ${where}: the output differs from the block's comments\n  expected: ${JSON.stringify(want)}\n  got:      ${JSON.stringify(got)}`);
      failed += 1;
    } else {
      console.log(`ok      ${where}: ${want.length ? `${want.length} output lines as written` : 'succeeded'} (${seconds} s)`);
      passed += 1;
    }
  }
}
if (!process.argv.slice(2).length) {
  // A runnable block in a Markdown file that is not in DOCS would never run: say so.
  const tracked = run('git', ['ls-files', '*.md', '**/*.md']).stdout.split('\n').filter(Boolean);
  for (const file of tracked.filter((f) => !DOCS.includes(f) && !f.includes('node_modules/'))) {
    if (blocks(readFileSync(join(ROOT, file), 'utf8')).some((b) => LANGS[b.lang] && b.words.includes('run'))) {
      console.log(`FAILED  ${file}: has blocks marked \`run\` but is not in scripts/doctest.mjs's DOCS`);
      failed += 1;
    }
  }
}
if (!process.argv.slice(2).length) {
  // The README's account of scripts/test: its number of stages, and every part it may skip (each
  // `SKIPS+=("name (why)")` of scripts/test), named in the README's list of skips.
  const test = readFileSync(join(ROOT, 'scripts', 'test'), 'utf8');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  const stages = /^STAGES=(\d+)$/m.exec(test)?.[1];
  const list = /skips what needs it[^]*?under `CI=true` a skip fails instead/.exec(readme)?.[0] ?? '';
  const problems = [];
  if (!stages || !readme.includes(`all ${stages} stages passed`)) problems.push(`it should say "all ${stages} stages passed" (STAGES in scripts/test)`);
  if (!list) problems.push('its list of what scripts/test skips ("skips what needs it ... under `CI=true` a skip fails instead") is missing');
  for (const [, skip] of test.matchAll(/SKIPS\+=\("([^"(]+?) \(/g)) {
    if (list && !list.includes(skip)) problems.push(`its list of skips should name "${skip}" (a SKIPS+= of scripts/test)`);
  }
  for (const p of problems) console.log(`FAILED  README.md: ${p}`);
  if (problems.length) failed += problems.length;
  else {
    console.log('ok      README.md: the stages and the skips of scripts/test');
    passed += 1;
  }
}
if (norun.length) console.log(`not run (marked norun): ${norun.join(', ')}`);
console.log(`doctest: ${passed} passed, ${failed} failed, ${skipped.length} skipped`);
process.exit(failed ? 1 : 0);
