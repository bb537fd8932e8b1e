'use strict';
/**
 * SidecarClient: the wasidecar.v1 API with deadlines, UNAVAILABLE retries, the
 * bearer token, W3C trace context and errors that carry the answer's reason.
 *
 *   const { SidecarClient } = require('wa-sidecar-client');
 *   const client = new SidecarClient();        // WASIDECAR_ADDR, WASIDECAR_TOKEN
 *   await client.grant('+16505551234', ['MARKETING'], { source: 'web-form' });
 *   const reply = await client.sendTemplate('+16505551234', 'spring_sale', { category: 'MARKETING' });
 */
const crypto = require('node:crypto');
const { setTimeout: sleep } = require('node:timers/promises');
const grpc = require('@grpc/grpc-js');
const { loadServices } = require('./proto');
const { Attempts, retryPolicy } = require('./retry');
const errors = require('./errors');

let otel = null;
try {
  // Optional peer dependency: without it no trace context is sent.
  otel = require('@opentelemetry/api');
} catch {
  otel = null;
}

const ADDR_ENV = 'WASIDECAR_ADDR';
const TOKEN_ENV = 'WASIDECAR_TOKEN';
const DEFAULT_ADDR = '127.0.0.1:50051';
const DEFAULT_TIMEOUT_MS = 10000;
// Reconnect quickly to a sidecar on loopback (gRPC's first reconnect backoff is 1 s).
const CHANNEL_OPTIONS = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
});
const SENT_OR_PENDING = new Set(['OUTCOME_SENT', 'OUTCOME_IN_DOUBT', 'OUTCOME_DRY_RUN']);

function enumName(prefix, value) {
  if (typeof value !== 'string') return value;
  const name = value.toUpperCase();
  return name.startsWith(prefix) ? name : prefix + name;
}

function newKey() {
  return `js-${crypto.randomUUID()}`;
}

function durationMs(d) {
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : null;
}

function checkedSend(reply) {
  if (SENT_OR_PENDING.has(reply.outcome)) return reply;
  const key = { idempotencyKey: reply.idempotencyKey };
  if (reply.outcome === 'OUTCOME_REJECTED') {
    const d = reply.decision || {};
    throw new errors.SendRefused(d.reason, d.detail, { ...key, retryAfterMs: durationMs(d.retryAfter) });
  }
  throw new errors.SendFailed(reply.outcome, reply.error, key);
}

function checkedWebhook(result) {
  if (!result.valid) throw new errors.WebhookRejected(result.reason, result.detail);
  return result;
}

class SidecarClient {
  /**
   * @param {object} [options]
   * @param {string} [options.address]   host:port; default WASIDECAR_ADDR or 127.0.0.1:50051
   * @param {string} [options.token]     bearer token; default WASIDECAR_TOKEN
   * @param {number} [options.timeoutMs] every call's deadline, retries included (10 s)
   * @param {object} [options.retry]     { maxAttempts, initialBackoffMs, maxBackoffMs, multiplier }
   * @param {boolean} [options.propagateTrace] send the active OpenTelemetry context (true)
   * @param {(info: {retry: number, waitMs: number, error: Error}) => void} [options.onRetry]
   */
  constructor(options = {}) {
    this.address = options.address || process.env[ADDR_ENV] || DEFAULT_ADDR;
    this.token = options.token || process.env[TOKEN_ENV] || null;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = retryPolicy(options.retry);
    this.propagateTrace = options.propagateTrace ?? true;
    this.onRetry = options.onRetry || null;
    const v1 = loadServices();
    const credentials = grpc.credentials.createInsecure();
    this._channel = new grpc.Channel(this.address, credentials, { ...CHANNEL_OPTIONS });
    const shared = { channelOverride: this._channel };
    this._send = new v1.SendService(this.address, credentials, shared);
    this._verify = new v1.VerifyService(this.address, credentials, shared);
    this._consent = new v1.ConsentService(this.address, credentials, shared);
  }

  /** A free-form text (a SERVICE reply inside the user's 24-hour window). */
  sendText(to, body, options = {}) {
    const request = {
      ...this._sendFields(to, options, 'SERVICE'),
      text: { body, previewUrl: Boolean(options.previewUrl) },
    };
    return this.send(request, options);
  }

  /** An approved template; options.params fill its body placeholders. */
  sendTemplate(to, name, options = {}) {
    if (!options.category) throw new TypeError('category: a template needs its Meta category');
    const components = [...(options.components || [])];
    if (options.params && options.params.length) {
      const parameters = options.params.map((text) => ({ type: 'text', text: String(text) }));
      components.unshift({ type: 'body', parameters });
    }
    const request = {
      ...this._sendFields(to, options),
      template: { name, language: { code: options.language || 'en_US' }, components },
    };
    return this.send(request, options);
  }

  /** SendService.Send with any request; a key is added when it has none. */
  async send(request, { check = true, timeoutMs } = {}) {
    const keyed = request.idempotencyKey ? request : { ...request, idempotencyKey: newKey() };
    const reply = await this._unary(this._send, 'Send', keyed, timeoutMs);
    return check ? checkedSend(reply) : reply;
  }

  /** The policy verdict without sending or taking quota. */
  check(request, { timeoutMs } = {}) {
    return this._unary(this._send, 'Check', request, timeoutMs);
  }

  /**
   * Verify Meta's POST from the body bytes exactly as received; JSON parsed and
   * stringified again does not match the signature.
   */
  async verifyWebhook(rawBody, signature, remoteIp, { headers = {}, check = true, timeoutMs } = {}) {
    if (!(rawBody instanceof Uint8Array)) {
      throw new TypeError(
        `rawBody: pass the request body bytes (a Buffer) exactly as received, not a ${typeof rawBody}`,
      );
    }
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const request = { body: Buffer.from(rawBody), signature: signature || '', remoteIp: remoteIp || '', headers: lower };
    const result = await this._unary(this._verify, 'VerifyWebhook', request, timeoutMs);
    return check ? checkedWebhook(result) : result;
  }

  /** The GET hub.challenge handshake; resolves to the challenge to echo, or null. */
  async verifySubscription(mode, verifyToken, challenge, { timeoutMs } = {}) {
    const reply = await this._unary(this._verify, 'VerifySubscription', { mode, verifyToken, challenge }, timeoutMs);
    return reply.ok ? reply.challenge : null;
  }

  /**
   * Verified events from the sidecar's webhook ingress, as they arrive. No
   * deadline unless timeoutMs is given; end it with options.signal or break.
   * Opening is retried on UNAVAILABLE; once events flowed, a lost connection throws.
   */
  async *streamEvents({ timeoutMs = null, signal } = {}) {
    const attempts = new Attempts(this.retry, timeoutMs);
    const metadata = this._metadata();
    for (;;) {
      const call = this._verify.StreamEvents({}, metadata, attempts.callOptions());
      const cancel = () => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      let received = false;
      let wait = null;
      try {
        for await (const event of call) {
          received = true;
          yield event;
        }
        return;
      } catch (err) {
        if (signal?.aborted) return;
        const error = errors.fromGrpcError(err);
        wait = received ? null : this._retryAfter(attempts, error);
        if (wait === null) throw error;
      } finally {
        signal?.removeEventListener('abort', cancel);
        call.on('error', () => {}); // the CANCELLED status of a stream we left
        call.cancel();
      }
      await sleep(wait);
    }
  }

  /** Record an opt-in with its proof; state.suppressionStands when the user's own STOP holds. */
  grant(phoneNumber, categories, { source, evidence = '', noticeVersion = '', jurisdiction, timeoutMs } = {}) {
    const request = {
      phoneNumber,
      categories: categories.map((c) => enumName('CATEGORY_', c)),
      source: source || '',
      evidence,
      noticeVersion,
      jurisdiction: jurisdiction ? enumName('JURISDICTION_', jurisdiction) : 'JURISDICTION_UNSPECIFIED',
    };
    return this._unary(this._consent, 'Grant', request, timeoutMs);
  }

  /** Record an opt-out; no categories means all of them. */
  revoke(phoneNumber, categories = [], { source = '', reason = '', timeoutMs } = {}) {
    const request = { phoneNumber, categories: categories.map((c) => enumName('CATEGORY_', c)), source, reason };
    return this._unary(this._consent, 'Revoke', request, timeoutMs);
  }

  /** The consent recorded for a number, per category, with its history. */
  getConsent(phoneNumber, { timeoutMs } = {}) {
    return this._unary(this._consent, 'Get', { phoneNumber }, timeoutMs);
  }

  close() {
    this._send.close();
    this._verify.close();
    this._consent.close();
    this._channel.close();
  }

  _sendFields(to, options, defaultCategory) {
    return {
      idempotencyKey: options.idempotencyKey || newKey(),
      to,
      category: enumName('CATEGORY_', options.category || defaultCategory),
      phoneNumberId: options.phoneNumberId || '',
      tags: options.tags || {},
    };
  }

  _metadata() {
    const metadata = new grpc.Metadata();
    if (this.token) metadata.set('authorization', `Bearer ${this.token}`);
    if (this.propagateTrace && otel) {
      const carrier = {};
      otel.propagation.inject(otel.context.active(), carrier);
      for (const [key, value] of Object.entries(carrier)) metadata.set(key.toLowerCase(), value);
    }
    return metadata;
  }

  _retryAfter(attempts, error) {
    const wait = attempts.retryAfter(error);
    if (wait !== null && this.onRetry) this.onRetry({ retry: attempts.retries, waitMs: wait, error });
    return wait;
  }

  async _unary(stub, method, request, timeoutMs) {
    const attempts = new Attempts(this.retry, timeoutMs ?? this.timeoutMs);
    const metadata = this._metadata();
    for (;;) {
      try {
        return await new Promise((resolve, reject) => {
          stub[method](request, metadata, attempts.callOptions(), (err, reply) => (err ? reject(err) : resolve(reply)));
        });
      } catch (err) {
        const error = errors.fromGrpcError(err);
        const wait = this._retryAfter(attempts, error);
        if (wait === null) throw error;
        await sleep(wait);
      }
    }
  }
}

module.exports = { SidecarClient, ADDR_ENV, TOKEN_ENV, DEFAULT_ADDR, DEFAULT_TIMEOUT_MS };
