'use strict';
/**
 * Generate types/ (TypeScript declarations of every wasidecar.v1 message and
 * enum) from the .proto files: proto-loader-gen-types with the loader options
 * of lib/proto.js, then tsc to declarations only.
 *
 * Usage: node scripts/gen-types.js [outDir]      (default: types/)
 * `npm run gen-types` runs it; test/types.test.js fails when types/ is stale.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { FILES, protoDir } = require('../lib/proto');

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

/** Paths of the files under dir, relative to it (readdirSync's `recursive` needs Node 20). */
function walk(dir, prefix = '') {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(prefix, entry.name);
    return entry.isDirectory() ? walk(dir, rel) : [rel];
  });
}

function generate(outDir) {
  // Inside the package, so that the generated sources resolve @grpc/proto-loader.
  const src = fs.mkdtempSync(path.join(ROOT, '.types-src-'));
  try {
    execFileSync(path.join(BIN, 'proto-loader-gen-types'), [
      '--longs=Number', '--enums=String', '--defaults', '--oneofs', '--includeComments',
      '-I', protoDir(), '-O', src, ...FILES,
    ], { stdio: 'pipe' });
    const sources = walk(src)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(src, f))
      .sort();
    fs.rmSync(outDir, { recursive: true, force: true });
    execFileSync(path.join(BIN, 'tsc'), [
      '--declaration', '--emitDeclarationOnly', '--skipLibCheck', '--target', 'es2022',
      '--module', 'nodenext', '--rootDir', src, '--outDir', outDir, ...sources,
    ], { stdio: 'pipe' });
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] || path.join(ROOT, 'types'));
  generate(out);
  process.stdout.write(`generated ${out}\n`);
}

module.exports = { generate, walk };
