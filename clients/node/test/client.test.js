'use strict';
// The Node client against a real `wa-sidecar serve --with-simulator` that this
// test starts (caller auth, the webhook ingress, every RPC in the request log).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const { setTimeout: sleep } = require('node:timers/promises');
const execFile = require('node:util').promisify(require('node:child_process').execFile);
const otel = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');

const {
  SidecarClient,
  SendRefused,
  WebhookRejected,
  InvalidArgument,
  Unauthenticated,
  PermissionDenied,
  Unavailable,
} = require('..');
const { createWebhookServer } = require('../examples/webhook');
const { startSidecar, freePort, PHONE_NUMBER_ID } = require('./sidecar');

const TOKEN = 'node-client-test-token-5e1d'; // a throwaway caller token of this test
const AUDITOR_TOKEN = 'node-client-test-auditor-77ab';

/** JSON as Meta writes it: non-ASCII and "/" escaped, so a re-serialised copy differs. */
function metaJson(value) {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}

function inboundText(from, text) {
  const message = {
    from,
    id: `wamid.node${crypto.randomUUID().replace(/-/g, '')}`,
    timestamp: String(Math.floor(Date.now() / 1000)),
    type: 'text',
    text: { body: text },
  };
  const value = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
    contacts: [{ profile: { name: 'Test User' }, wa_id: from }],
    messages: [message],
  };
  const payload = { object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value }] }] };
  return Buffer.from(metaJson(payload));
}

function sign(body, secret) {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

function request(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function sha256(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

describe('against a live sidecar', () => {
  let sidecar;
  const clients = [];
  const client = (options = {}) => {
    const c = new SidecarClient({ address: sidecar.grpcAddr, token: TOKEN, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'wa-node-auth-'));
    const authFile = path.join(dir, 'auth.yaml');
    fs.writeFileSync(
      authFile,
      'principals:\n' +
        `  - name: node-app\n    token_sha256: ${sha256(TOKEN)}\n    roles: [sender, webhook, consent-writer]\n` +
        `  - name: auditor\n    token_sha256: ${sha256(AUDITOR_TOKEN)}\n    roles: [auditor]\n`,
    );
    sidecar = await startSidecar({
      WA_SIDECAR_AUTH_FILE: authFile,
      WA_SIDECAR_WEBHOOK_INGRESS: 'true',
      WA_SIDECAR_REQUEST_LOG_SAMPLE: '1',
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    if (sidecar) assert.equal(await sidecar.stop(), 0);
  });

  test('a template sent after a grant reaches Graph, under a key the client made', async () => {
    const c = client();
    const state = await c.grant('+16505551234', ['MARKETING'], { source: 'web-form', evidence: 'form 8812' });
    assert.equal(state.suppressionStands, false);
    const reply = await c.sendTemplate('+16505551234', 'spring_sale', { category: 'MARKETING', params: ['20%'] });
    assert.equal(reply.outcome, 'OUTCOME_SENT');
    assert.match(reply.messageId, /^wamid\./);
    assert.match(reply.idempotencyKey, /^js-/);
  });

  test('a text outside the service window is refused with the reason from the answer', async () => {
    const c = client();
    await assert.rejects(c.sendText('+16505550188', 'Your parcel is at the door'), (err) => {
      assert.ok(err instanceof SendRefused);
      assert.equal(err.reason, 'REASON_OUTSIDE_SERVICE_WINDOW');
      return true;
    });
    const reply = await c.sendText('+16505550188', 'again', { check: false });
    assert.equal(reply.outcome, 'OUTCOME_REJECTED');
  });

  test('bad input is InvalidArgument naming the field, not retried', async () => {
    const retries = [];
    const c = client({ onRetry: (info) => retries.push(info) });
    await assert.rejects(c.sendText('12345', 'hi'), (err) => err instanceof InvalidArgument && err.field === 'to');
    assert.deepEqual(retries, []);
  });

  test('verifyWebhook takes the raw bytes; re-serialised JSON is refused', async () => {
    const c = client();
    const raw = inboundText('14155550123', 'Olá! https://example.com/pedido');
    const sig = sign(raw, sidecar.appSecret);
    const result = await c.verifyWebhook(raw, sig, '127.0.0.1');
    assert.equal(result.valid, true);
    assert.equal(result.events[0].message.fromNumber, '14155550123');
    assert.equal(result.events[0].message.text, 'Olá! https://example.com/pedido');

    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    assert.notDeepEqual(reserialised, raw); // what express.json() + JSON.stringify hands on
    await assert.rejects(c.verifyWebhook(reserialised, sig, '127.0.0.1'), (err) => {
      assert.ok(err instanceof WebhookRejected);
      assert.equal(err.reason, 'REJECTION_BAD_SIGNATURE');
      assert.equal(err.httpStatus, 401);
      return true;
    });
    await assert.rejects(c.verifyWebhook(JSON.parse(raw.toString('utf8')), sig, '127.0.0.1'), TypeError);
  });

  test('the node:http example verifies the raw body and refuses a re-serialised one', async () => {
    const events = [];
    const server = createWebhookServer(client(), (e) => events.push(e));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}/webhook`;
    try {
      const raw = inboundText('16505550111', 'Arrêt? Não, só olá / hello');
      const headers = { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw, sidecar.appSecret) };
      assert.equal((await request(url, { method: 'POST', body: raw, headers })).status, 200);
      assert.equal(events.length, 1);
      assert.equal(events[0].kind, 'message');

      const again = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
      const refused = await request(url, { method: 'POST', body: again, headers });
      assert.deepEqual([refused.status, refused.text], [401, 'REJECTION_BAD_SIGNATURE']);
      assert.equal(events.length, 1);

      const hub = 'hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=';
      assert.deepEqual(await request(`${url}?${hub}dev-verify-token`), { status: 200, text: '1158201444' });
      assert.equal((await request(`${url}?${hub}wrong`)).status, 403);
    } finally {
      server.close();
    }
  });

  test('grant then revoke decides the next send', async () => {
    const c = client();
    const number = '+14155550199';
    const promo = { to: number, category: 'CATEGORY_MARKETING', template: { name: 'promo', language: { code: 'en' } } };
    assert.equal((await c.check(promo)).reason, 'REASON_NO_CONSENT');
    const granted = await c.grant(number, ['marketing'], { source: 'web-form', jurisdiction: 'GDPR' });
    const marketing = granted.categories.find((x) => x.category === 'CATEGORY_MARKETING');
    assert.equal(marketing.status, 'CONSENT_STATUS_GRANTED');
    assert.equal((await c.check(promo)).allowed, true);
    await c.revoke(number, ['MARKETING'], { source: 'preference-center', reason: 'asked' });
    await assert.rejects(c.send(promo), (err) => err instanceof SendRefused && err.reason !== 'REASON_UNSPECIFIED');
    const history = (await c.getConsent(number)).history.map((e) => e.action);
    assert.deepEqual(history, ['CONSENT_ACTION_GRANT', 'CONSENT_ACTION_REVOKE']);
  });

  test('the token comes from WASIDECAR_TOKEN and is checked', async () => {
    const saved = { addr: process.env.WASIDECAR_ADDR, token: process.env.WASIDECAR_TOKEN };
    process.env.WASIDECAR_ADDR = sidecar.grpcAddr;
    process.env.WASIDECAR_TOKEN = TOKEN;
    try {
      const fromEnv = new SidecarClient();
      clients.push(fromEnv);
      assert.ok((await fromEnv.getConsent('+16505551234')).subjectIndex);
    } finally {
      for (const [k, v] of [['WASIDECAR_ADDR', saved.addr], ['WASIDECAR_TOKEN', saved.token]]) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    await assert.rejects(client({ token: 'unknown' }).getConsent('+16505551234'), Unauthenticated);
    await assert.rejects(client({ token: AUDITOR_TOKEN }).getConsent('+16505551234'), (err) =>
      err instanceof PermissionDenied && err.detail.includes('consent-writer'));
  });

  test('streamEvents yields what the ingress verified', async () => {
    const c = client();
    const abort = new AbortController();
    const events = c.streamEvents({ signal: abort.signal, timeoutMs: 30000 });
    const first = events.next();
    const raw = inboundText('12025550143', 'STOP');
    const headers = { 'x-hub-signature-256': sign(raw, sidecar.appSecret) };
    // The ingress answers 503 until a subscriber is connected, and Meta
    // delivers again; so does this, until the subscription is open.
    const deadline = Date.now() + 10000;
    let status;
    while ((status = (await request(`${sidecar.adminUrl}/webhook`, { method: 'POST', body: raw, headers })).status) === 503) {
      assert.ok(Date.now() < deadline, 'the subscription never opened');
      await sleep(50);
    }
    assert.equal(status, 200);
    const { value } = await first;
    abort.abort();
    assert.equal((await events.next()).done, true);
    assert.equal(value.kind, 'message');
    assert.equal(value.message.fromNumber, '12025550143');
    assert.equal(value.message.optOut, true);
    assert.equal((await c.getConsent('+12025550143')).suppressed, true);
  });

  test("the README's example runs", async () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const code = readme.split('```js\n')[1].split('```')[0].replace("require('wa-sidecar-client')", "require('..')");
    const file = path.join(__dirname, `.readme-${process.pid}.js`); // beside the package's node_modules
    fs.writeFileSync(file, code);
    try {
      const env = { ...process.env, WASIDECAR_ADDR: sidecar.grpcAddr, WASIDECAR_TOKEN: TOKEN };
      const { stdout } = await execFile(process.execPath, [file], { env, timeout: 30000 });
      const lines = stdout.trim().split('\n');
      assert.match(lines[0], /^wamid\./);
      assert.equal(lines[1], 'REASON_OUTSIDE_SERVICE_WINDOW');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test('the active OpenTelemetry context reaches the sidecar as traceparent', async () => {
    otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const manager = new AsyncLocalStorageContextManager().enable();
    otel.context.setGlobalContextManager(manager);
    try {
      const traceId = crypto.randomBytes(16).toString('hex');
      const parent = { traceId, spanId: crypto.randomBytes(8).toString('hex'), traceFlags: 1, isRemote: false };
      const c = client();
      const ctx = otel.trace.setSpanContext(otel.context.active(), parent);
      await otel.context.with(ctx, () => c.sendTemplate('+13125550177', 'otp', { category: 'AUTHENTICATION', params: ['1'] }));
      // Tracing is off in this sidecar, so its request log carries the caller's trace id.
      const logged = () => sidecar.logText().split('\n').filter((l) => l.includes(traceId)).map((l) => JSON.parse(l));
      const deadline = Date.now() + 10000;
      while (!logged().length && Date.now() < deadline) await sleep(50);
      const lines = logged();
      assert.equal(lines.length, 1, 'one request log line with the trace id');
      assert.equal(lines[0].rpc_method, 'wasidecar.v1.SendService/Send');
    } finally {
      otel.context.disable();
      otel.propagation.disable();
    }
  });
});

describe('retries', () => {
  test('UNAVAILABLE is retried until a sidecar starts on the address', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    let firstRetry;
    const retried = new Promise((resolve) => { firstRetry = resolve; });
    const retries = [];
    const c = new SidecarClient({
      address: addr,
      timeoutMs: 40000,
      retry: { maxAttempts: 100, initialBackoffMs: 50, maxBackoffMs: 300 },
      onRetry: (info) => { retries.push(info); firstRetry(); },
    });
    let sidecar;
    try {
      const call = c.getConsent('+16505551234');
      await retried; // nothing listens yet: an attempt failed before the sidecar starts
      assert.ok(retries[0].error instanceof Unavailable);
      sidecar = await startSidecar({ WA_SIDECAR_GRPC_ADDR: addr });
      assert.ok((await call).subjectIndex);
    } finally {
      c.close();
      if (sidecar) await sidecar.stop();
    }
  });

  test('UNAVAILABLE gives up after the policy attempts, and a deadline bounds them', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const retries = [];
    const c = new SidecarClient({
      address: addr,
      retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 },
      onRetry: (info) => retries.push(info.retry),
    });
    await assert.rejects(c.getConsent('+16505551234'), Unavailable);
    assert.deepEqual(retries, [1, 2]);
    c.close();

    const bounded = new SidecarClient({ address: addr, timeoutMs: 500, retry: { maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 100 } });
    const started = Date.now();
    await assert.rejects(bounded.getConsent('+16505551234'), Unavailable);
    assert.ok(Date.now() - started < 2000);
    bounded.close();
  });
});
