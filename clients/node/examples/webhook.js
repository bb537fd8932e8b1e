'use strict';
/**
 * A WhatsApp webhook endpoint on node:http that lets the sidecar verify Meta's
 * deliveries. Run: `WASIDECAR_ADDR=127.0.0.1:50051 node examples/webhook.js`
 * (PORT, default 8080), and point Meta's callback URL at /webhook.
 *
 * The one rule: hand VerifyWebhook the body BYTES exactly as received. A body
 * parsed and stringified again (express.json(), then JSON.stringify) differs
 * from what Meta signed, in spacing, key order or escapes, and is refused.
 */
const http = require('node:http');
const { SidecarClient, WebhookRejected } = require('..');

function readRawBody(req, limit = 3 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request handler; onEvent gets every new (not duplicate) verified event. */
function webhookHandler(client, onEvent = () => {}) {
  return async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname !== '/webhook') return res.writeHead(404).end();
    try {
      if (req.method === 'GET') {
        // Meta's subscription handshake: echo hub.challenge when the token matches.
        const q = url.searchParams;
        const challenge = await client.verifySubscription(q.get('hub.mode'), q.get('hub.verify_token'), q.get('hub.challenge'));
        return challenge === null ? res.writeHead(403).end() : res.writeHead(200).end(challenge);
      }
      if (req.method !== 'POST') return res.writeHead(405).end();
      const raw = await readRawBody(req);
      const forwarded = req.headers['x-forwarded-for'];
      const result = await client.verifyWebhook(raw, req.headers['x-hub-signature-256'], req.socket.remoteAddress, {
        headers: forwarded ? { 'x-forwarded-for': String(forwarded) } : {},
      });
      // Opt-outs in the delivery are already applied when this answer comes.
      for (const event of result.events) onEvent(event);
      return res.writeHead(200).end('ok');
    } catch (err) {
      if (err instanceof WebhookRejected) return res.writeHead(err.httpStatus).end(err.reason);
      // Anything else (sidecar down): 503, and Meta delivers again later.
      return res.writeHead(err.status || 503).end();
    }
  };
}

function createWebhookServer(client, onEvent) {
  return http.createServer(webhookHandler(client, onEvent));
}

module.exports = { createWebhookServer, webhookHandler, readRawBody };

if (require.main === module) {
  const client = new SidecarClient();
  const port = Number(process.env.PORT || 8080);
  // Log kinds only: events carry phone numbers, which stay out of logs.
  createWebhookServer(client, (event) => console.log('event', event.kind, event.message?.type || ''))
    .listen(port, () => console.log(`webhook on http://localhost:${port}/webhook -> sidecar ${client.address}`));
}
