'use strict';
/**
 * A real `wa-sidecar serve --with-simulator` child process for the tests.
 *
 *   const sidecar = await startSidecar({ WA_SIDECAR_WEBHOOK_INGRESS: 'true' });
 *   ... new SidecarClient({ address: sidecar.grpcAddr }) ...
 *   await sidecar.stop();
 *
 * The binary is SIDECAR_BIN, else the repository's .venv/bin/wa-sidecar. Free
 * loopback ports below the ephemeral range, private SQLite state in a temp
 * folder, the dev secrets; ready when /readyz answers 200 (set once the gRPC
 * server reports SERVING).
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const REPO = path.resolve(__dirname, '..', '..', '..');
const APP_SECRET = 'dev-app-secret-for-node-tests-0123456789';
const PHONE_NUMBER_ID = '106540352242922';

function sidecarBin() {
  return process.env.SIDECAR_BIN || path.join(REPO, '.venv', 'bin', 'wa-sidecar');
}

function freePort() {
  const port = 20000 + crypto.randomInt(12000);
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(freePort()));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(port)));
  });
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

async function launch(extraEnv, dir) {
  const grpcAddr = `127.0.0.1:${await freePort()}`;
  const adminAddr = `127.0.0.1:${await freePort()}`;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WA_SIDECAR_')));
  const env = {
    ...inherited,
    WA_SIDECAR_GRPC_ADDR: grpcAddr,
    WA_SIDECAR_ADMIN_ADDR: adminAddr,
    WA_SIDECAR_STATE_URL: `sqlite:///${path.join(dir, 'state.db')}`,
    WA_SIDECAR_ACCESS_TOKEN: 'dev-token',
    WA_SIDECAR_APP_SECRET: APP_SECRET,
    WA_SIDECAR_VERIFY_TOKEN: 'dev-verify-token',
    WA_SIDECAR_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    WA_SIDECAR_RETRY_BASE_DELAY: '0.01',
    WA_SIDECAR_RETRY_MAX_DELAY: '0.05',
    ...extraEnv,
  };
  const logPath = path.join(dir, `sidecar-${Date.now()}.log`);
  const log = fs.openSync(logPath, 'a');
  const child = spawn(sidecarBin(), ['serve', '--with-simulator'], { env, cwd: dir, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const logText = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { child, exited, grpcAddr: env.WA_SIDECAR_GRPC_ADDR, adminUrl: `http://${env.WA_SIDECAR_ADMIN_ADDR}`, logText, stop };
}

/** Start a sidecar and wait until it is ready; retried with new ports on a port race. */
async function startSidecar(extraEnv = {}, { timeoutMs = 20000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-node-client-'));
  for (let attempt = 0; ; attempt += 1) {
    const sidecar = await launch(extraEnv, dir);
    const deadline = Date.now() + timeoutMs;
    let exitCode = null;
    sidecar.exited.then((code) => { exitCode = code; });
    while (exitCode === null && Date.now() < deadline) {
      if ((await get(`${sidecar.adminUrl}/readyz`)) === 200) {
        return { ...sidecar, appSecret: APP_SECRET, phoneNumberId: PHONE_NUMBER_ID, dir };
      }
      await sleep(50); // a readiness probe, as kubelet polls it
    }
    await sidecar.stop();
    const text = sidecar.logText();
    if (attempt < 2 && text.includes('cannot listen') && !extraEnv.WA_SIDECAR_GRPC_ADDR) continue;
    throw new Error(`sidecar not ready (exit=${exitCode}); log:\n${text.slice(-4000)}`);
  }
}

module.exports = { startSidecar, freePort, sidecarBin, APP_SECRET, PHONE_NUMBER_ID };
