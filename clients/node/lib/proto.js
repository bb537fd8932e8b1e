'use strict';
/**
 * The wasidecar.v1 service definitions, loaded from the .proto files at run
 * time: the package's own proto/ folder (copied in by `npm pack`), else the
 * repository's proto/ (a checkout). The loader options match types/.
 */
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const FILES = ['common', 'send', 'verify', 'consent'].map((n) => `wasidecar/v1/${n}.proto`);
const LOADER_OPTIONS = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

function protoDir() {
  const candidates = [path.join(__dirname, '..', 'proto'), path.join(__dirname, '..', '..', '..', 'proto')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, FILES[0])));
  if (!found) throw new Error(`wasidecar.v1 .proto files not found in ${candidates.join(' or ')}`);
  return found;
}

let cached = null;

/** The loaded `wasidecar.v1` package: SendService, VerifyService, ConsentService. */
function loadServices() {
  if (!cached) {
    const dir = protoDir();
    const definition = protoLoader.loadSync(FILES, { ...LOADER_OPTIONS, includeDirs: [dir] });
    cached = grpc.loadPackageDefinition(definition).wasidecar.v1;
  }
  return cached;
}

module.exports = { FILES, LOADER_OPTIONS, protoDir, loadServices };
