'use strict';
/**
 * What can go wrong when calling the sidecar, as a small error tree.
 *
 *   SidecarError
 *   ├── Refused                the sidecar answered, and the answer is "no"
 *   │   ├── SendRefused        policy said no (outcome REJECTED): .reason 'REASON_OPTED_OUT'
 *   │   ├── SendFailed         Graph said no, or retries ran out: .error (a SendError)
 *   │   └── WebhookRejected    not a genuine delivery: .reason 'REJECTION_BAD_SIGNATURE'
 *   └── RpcError               the call itself failed: .code, .codeName, .detail
 *       ├── InvalidArgument    .field names the bad field ('to', 'category', ...)
 *       ├── FailedPrecondition
 *       ├── NotFound
 *       ├── Unauthenticated    no or an unknown bearer token
 *       ├── PermissionDenied   the token's principal lacks the method's role
 *       ├── Unavailable        the sidecar could not be reached (after the retries)
 *       └── DeadlineExceeded   the call's timeout passed
 *
 * Refusals are answers in the sidecar's API; the helpers throw them unless
 * called with { check: false }.
 */
const { status } = require('@grpc/grpc-js');

class SidecarError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

class Refused extends SidecarError {
  constructor(reason, detail = '') {
    super(detail ? `${reason}: ${detail}` : reason);
    this.reason = reason;
    this.detail = detail;
  }
}

/** Policy refused the send (OUTCOME_REJECTED); nothing reached Meta. */
class SendRefused extends Refused {
  constructor(reason, detail, { retryAfterMs = null, idempotencyKey = '' } = {}) {
    super(reason, detail);
    this.retryAfterMs = retryAfterMs;
    this.idempotencyKey = idempotencyKey;
  }
}

/** Graph refused (OUTCOME_FAILED) or retries ran out (OUTCOME_DEAD_LETTERED). */
class SendFailed extends Refused {
  constructor(outcome, error, { idempotencyKey = '' } = {}) {
    const e = error || { code: 0, message: '' };
    super(outcome, e.code ? `Graph error ${e.code}: ${e.message}` : e.message);
    this.outcome = outcome;
    this.error = e;
    this.idempotencyKey = idempotencyKey;
  }
}

const WEBHOOK_HTTP = {
  REJECTION_TOO_LARGE: 413,
  REJECTION_IP_NOT_ALLOWED: 403,
  REJECTION_RATE_LIMITED: 429,
  REJECTION_MALFORMED_PAYLOAD: 400,
};

/** The webhook POST did not verify; httpStatus is what to answer Meta. */
class WebhookRejected extends Refused {
  get httpStatus() {
    return WEBHOOK_HTTP[this.reason] || 401;
  }
}

const CODE_NAMES = Object.fromEntries(Object.entries(status).map(([name, code]) => [code, name]));

class RpcError extends SidecarError {
  constructor(code, detail) {
    super(`${CODE_NAMES[code] || code}: ${detail}`);
    this.code = code;
    this.codeName = CODE_NAMES[code] || String(code);
    this.detail = detail;
  }
}

class InvalidArgument extends RpcError {
  constructor(code, detail) {
    super(code, detail);
    const match = /^([A-Za-z_][\w.[\]]*): /.exec(detail);
    this.field = match ? match[1] : '';
  }
}
class FailedPrecondition extends RpcError {}
class NotFound extends RpcError {}
class Unauthenticated extends RpcError {}
class PermissionDenied extends RpcError {}
class Unavailable extends RpcError {}
class DeadlineExceeded extends RpcError {}

const BY_CODE = {
  [status.INVALID_ARGUMENT]: InvalidArgument,
  [status.FAILED_PRECONDITION]: FailedPrecondition,
  [status.NOT_FOUND]: NotFound,
  [status.UNAUTHENTICATED]: Unauthenticated,
  [status.PERMISSION_DENIED]: PermissionDenied,
  [status.UNAVAILABLE]: Unavailable,
  [status.DEADLINE_EXCEEDED]: DeadlineExceeded,
};

/** The client error for a grpc-js ServiceError. */
function fromGrpcError(err) {
  if (err instanceof SidecarError || typeof err?.code !== 'number') return err;
  const Kind = BY_CODE[err.code] || RpcError;
  const error = new Kind(err.code, err.details || '');
  error.cause = err;
  return error;
}

module.exports = {
  SidecarError,
  Refused,
  SendRefused,
  SendFailed,
  WebhookRejected,
  RpcError,
  InvalidArgument,
  FailedPrecondition,
  NotFound,
  Unauthenticated,
  PermissionDenied,
  Unavailable,
  DeadlineExceeded,
  fromGrpcError,
};
