// Compiled (never run) by test/types.test.js: the README's calls type-check
// against index.d.ts, and misuse does not.
import { SidecarClient, SendRefused, WebhookRejected, type Event, type SendResponse } from '../..';

async function main(raw: Buffer, signature: string | undefined): Promise<void> {
  const client = new SidecarClient({ address: '127.0.0.1:50051', timeoutMs: 5000, retry: { maxAttempts: 3 } });
  const state = await client.grant('+16505551234', ['MARKETING'], { source: 'web-form', jurisdiction: 'GDPR' });
  const stands: boolean = state.suppressionStands;
  const reply: SendResponse = await client.sendTemplate('+16505551234', 'otp', { category: 'AUTHENTICATION', params: ['1'] });
  const outcome: 'OUTCOME_SENT' | string = reply.outcome;
  try {
    await client.sendText('+16505551234', 'hi');
  } catch (err) {
    if (err instanceof SendRefused) {
      const wait: number | null = err.retryAfterMs;
      const reason: string = err.reason;
      void wait, reason;
    }
  }
  try {
    const result = await client.verifyWebhook(raw, signature, '127.0.0.1');
    for (const event of result.events) {
      const from: string | undefined = event.message?.fromNumber;
      void from;
    }
  } catch (err) {
    if (err instanceof WebhookRejected) {
      const status: number = err.httpStatus;
      void status;
    }
  }
  for await (const event of client.streamEvents({ signal: AbortSignal.timeout(1000) })) {
    const e: Event = event;
    void e.kind;
  }
  // @ts-expect-error a template needs its category
  await client.sendTemplate('+16505551234', 'otp', {});
  // @ts-expect-error the body is bytes, not parsed JSON
  await client.verifyWebhook({ object: 'whatsapp_business_account' }, signature, '127.0.0.1');
  client.close();
  void stands, outcome;
}

void main;
