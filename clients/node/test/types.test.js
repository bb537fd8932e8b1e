'use strict';
// types/ is what scripts/gen-types.js makes from the .proto files today, and
// the README's calls type-check against index.d.ts (test/typecheck/usage.ts).
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { generate, walk } = require('../scripts/gen-types');

const ROOT = path.join(__dirname, '..');

function tree(dir) {
  return Object.fromEntries(
    walk(dir)
      .filter((f) => f.endsWith('.d.ts'))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

test('types/ matches the .proto files (run `npm run gen-types`)', () => {
  const fresh = fs.mkdtempSync(path.join(ROOT, '.types-check-'));
  try {
    generate(fresh);
    const want = tree(fresh);
    const have = tree(path.join(ROOT, 'types'));
    const stale = [...new Set([...Object.keys(want), ...Object.keys(have)])].filter((f) => want[f] !== have[f]);
    assert.deepEqual(stale, [], `stale generated types: ${stale.join(', ')}`);
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
});

test('index.d.ts accepts the documented calls and refuses misuse', () => {
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--types', 'node'];
  try {
    execFileSync(tsc, [...args, path.join(__dirname, 'typecheck', 'usage.ts')], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    assert.fail(`tsc: ${err.stdout}${err.stderr}`);
  }
});
