// Types of wa-sidecar-client. The client API is written here by hand; the
// messages and enums come from types/, generated from the .proto files
// (`npm run gen-types`, checked current by test/types.test.js).

import type { Category } from './types/wasidecar/v1/Category';
import type { ConsentState__Output } from './types/wasidecar/v1/ConsentState';
import type { Decision__Output } from './types/wasidecar/v1/Decision';
import type { Event__Output } from './types/wasidecar/v1/Event';
import type { Jurisdiction } from './types/wasidecar/v1/Jurisdiction';
import type { SendError__Output } from './types/wasidecar/v1/SendError';
import type { SendRequest } from './types/wasidecar/v1/SendRequest';
import type { SendResponse__Output } from './types/wasidecar/v1/SendResponse';
import type { TemplateComponent } from './types/wasidecar/v1/TemplateComponent';
import type { WebhookResult__Output } from './types/wasidecar/v1/WebhookResult';
import type { Reason__Output } from './types/wasidecar/v1/Reason';
import type { Rejection__Output } from './types/wasidecar/v1/Rejection';
import type { Outcome__Output } from './types/wasidecar/v1/Outcome';

export type {
  Category,
  ConsentState__Output as ConsentState,
  Decision__Output as Decision,
  Event__Output as Event,
  Jurisdiction,
  SendError__Output as SendError,
  SendRequest,
  SendResponse__Output as SendResponse,
  TemplateComponent,
  WebhookResult__Output as WebhookResult,
};

/** 'MARKETING' (any case, 'CATEGORY_' optional), 'CATEGORY_MARKETING' or 1. */
export type CategoryLike = Category | string;
/** 'GDPR', 'JURISDICTION_GDPR' or 1. */
export type JurisdictionLike = Jurisdiction | string;

export interface RetryPolicy {
  /** Counts the first try; 1 turns retries off. Default 5. */
  maxAttempts?: number;
  /** Default 100 ms. */
  initialBackoffMs?: number;
  /** Default 2000 ms. */
  maxBackoffMs?: number;
  /** Default 2. */
  multiplier?: number;
}

export interface ClientOptions {
  /** host:port; default WASIDECAR_ADDR, else 127.0.0.1:50051. */
  address?: string;
  /** Bearer token for caller auth; default WASIDECAR_TOKEN. */
  token?: string;
  /** Every call's deadline, retries included. Default 10000. */
  timeoutMs?: number;
  /** Retries of calls that ended UNAVAILABLE (nothing else is retried). */
  retry?: RetryPolicy;
  /** Send the active OpenTelemetry context as traceparent (when @opentelemetry/api is installed). Default true. */
  propagateTrace?: boolean;
  /** Called before each retry. */
  onRetry?: (info: { retry: number; waitMs: number; error: RpcError }) => void;
}

export interface CallOptions {
  /** This call's deadline instead of the client's timeoutMs. */
  timeoutMs?: number;
}

export interface SendOptions extends CallOptions {
  /** Throw SendRefused / SendFailed for refusals (default true). */
  check?: boolean;
  /** Made fresh when absent, so that a retry cannot reach the user twice. */
  idempotencyKey?: string;
  phoneNumberId?: string;
  tags?: Record<string, string>;
}

export interface TextOptions extends SendOptions {
  /** Default 'SERVICE': a free-form reply inside the 24-hour window. */
  category?: CategoryLike;
  previewUrl?: boolean;
}

export interface TemplateOptions extends SendOptions {
  /** The template's Meta category: MARKETING, UTILITY or AUTHENTICATION. */
  category: CategoryLike;
  /** Default 'en_US'. */
  language?: string;
  /** Text parameters of the body placeholders, in order. */
  params?: Array<string | number>;
  components?: TemplateComponent[];
}

export interface VerifyOptions extends CallOptions {
  /** Optional request headers, e.g. x-forwarded-for. */
  headers?: Record<string, string>;
  /** Throw WebhookRejected when the delivery does not verify (default true). */
  check?: boolean;
}

export interface GrantOptions extends CallOptions {
  /** Where the opt-in came from: 'web-form', 'whatsapp-thread', ... */
  source: string;
  evidence?: string;
  noticeVersion?: string;
  jurisdiction?: JurisdictionLike;
}

export interface RevokeOptions extends CallOptions {
  source?: string;
  reason?: string;
}

export interface StreamOptions {
  /** No deadline unless given. */
  timeoutMs?: number | null;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

export declare class SidecarClient {
  constructor(options?: ClientOptions);
  readonly address: string;
  sendText(to: string, body: string, options?: TextOptions): Promise<SendResponse__Output>;
  sendTemplate(to: string, name: string, options: TemplateOptions): Promise<SendResponse__Output>;
  send(request: SendRequest, options?: { check?: boolean; timeoutMs?: number }): Promise<SendResponse__Output>;
  check(request: SendRequest, options?: CallOptions): Promise<Decision__Output>;
  /** rawBody: the POST body bytes exactly as received (never re-serialised JSON). */
  verifyWebhook(
    rawBody: Uint8Array,
    signature: string | undefined | null,
    remoteIp: string | undefined,
    options?: VerifyOptions,
  ): Promise<WebhookResult__Output>;
  /** The challenge to echo for a valid GET handshake, else null. */
  verifySubscription(mode: string, verifyToken: string, challenge: string, options?: CallOptions): Promise<string | null>;
  streamEvents(options?: StreamOptions): AsyncGenerator<Event__Output, void, undefined>;
  grant(phoneNumber: string, categories: CategoryLike[], options: GrantOptions): Promise<ConsentState__Output>;
  revoke(phoneNumber: string, categories?: CategoryLike[], options?: RevokeOptions): Promise<ConsentState__Output>;
  getConsent(phoneNumber: string, options?: CallOptions): Promise<ConsentState__Output>;
  close(): void;
}

export declare class SidecarError extends Error {}
export declare class Refused extends SidecarError {
  readonly reason: string;
  readonly detail: string;
}
export declare class SendRefused extends Refused {
  readonly reason: Reason__Output;
  /** Set for quota and pair-limit refusals. */
  readonly retryAfterMs: number | null;
  readonly idempotencyKey: string;
}
export declare class SendFailed extends Refused {
  readonly outcome: Outcome__Output;
  readonly error: SendError__Output;
  readonly idempotencyKey: string;
}
export declare class WebhookRejected extends Refused {
  readonly reason: Rejection__Output;
  /** What to answer Meta: 413, 403, 429, 400, else 401. */
  readonly httpStatus: number;
}
export declare class RpcError extends SidecarError {
  /** The gRPC status code (number) and its name. */
  readonly code: number;
  readonly codeName: string;
  readonly detail: string;
}
export declare class InvalidArgument extends RpcError {
  /** The field the sidecar named first ('to'), or ''. */
  readonly field: string;
}
export declare class FailedPrecondition extends RpcError {}
export declare class NotFound extends RpcError {}
export declare class Unauthenticated extends RpcError {}
export declare class PermissionDenied extends RpcError {}
export declare class Unavailable extends RpcError {}
export declare class DeadlineExceeded extends RpcError {}
export declare function fromGrpcError(err: unknown): unknown;

export declare const ADDR_ENV: 'WASIDECAR_ADDR';
export declare const TOKEN_ENV: 'WASIDECAR_TOKEN';
export declare const DEFAULT_ADDR: string;
export declare const DEFAULT_TIMEOUT_MS: number;
/** The loaded wasidecar.v1 package (grpc-js service constructors), for calls the helpers do not cover. */
export declare function loadServices(): Record<string, unknown>;
/** The folder holding wasidecar/v1/*.proto. */
export declare function protoDir(): string;
export declare const LOADER_OPTIONS: Readonly<Record<string, unknown>>;
