'use strict';
/**
 * Retries of calls that ended UNAVAILABLE (nothing else is retried): waits grow
 * exponentially from initialBackoffMs to maxBackoffMs with full jitter, and
 * never run past the call's deadline. maxAttempts counts the first try.
 */
const { Unavailable } = require('./errors');

const DEFAULT_RETRY = Object.freeze({
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 2000,
  multiplier: 2,
});

function retryPolicy(given = {}) {
  const policy = { ...DEFAULT_RETRY, ...given };
  if (!(policy.maxAttempts >= 1)) throw new RangeError('retry.maxAttempts: must be at least 1');
  if (!(policy.initialBackoffMs > 0 && policy.initialBackoffMs <= policy.maxBackoffMs)) {
    throw new RangeError('retry.initialBackoffMs: must be > 0 and ≤ maxBackoffMs');
  }
  return Object.freeze(policy);
}

/** The waits before each retry (maxAttempts - 1 of them). */
function* backoffs(policy, rand = Math.random) {
  let ceiling = policy.initialBackoffMs;
  for (let i = 1; i < policy.maxAttempts; i += 1) {
    yield ceiling * rand();
    ceiling = Math.min(ceiling * policy.multiplier, policy.maxBackoffMs);
  }
}

/** One call's deadline and retry budget; timeoutMs null = no deadline (a subscription). */
class Attempts {
  constructor(policy, timeoutMs) {
    this.deadline = timeoutMs == null ? null : Date.now() + timeoutMs;
    this.waits = backoffs(policy);
    this.retries = 0;
  }

  callOptions() {
    return this.deadline == null ? {} : { deadline: new Date(this.deadline) };
  }

  /** Milliseconds to wait before trying again, or null to give up. */
  retryAfter(error) {
    if (!(error instanceof Unavailable)) return null;
    const next = this.waits.next();
    if (next.done) return null;
    if (this.deadline != null && next.value >= this.deadline - Date.now()) return null;
    this.retries += 1;
    return next.value;
  }
}

module.exports = { DEFAULT_RETRY, retryPolicy, backoffs, Attempts };
