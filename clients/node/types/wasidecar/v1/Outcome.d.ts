export declare const Outcome: {
    readonly OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED';
    /**
     * Graph accepted the message; message_id holds the wamid.
     */
    readonly OUTCOME_SENT: 'OUTCOME_SENT';
    /**
     * Policy refused; see decision.
     */
    readonly OUTCOME_REJECTED: 'OUTCOME_REJECTED';
    /**
     * Graph refused permanently; see error.
     */
    readonly OUTCOME_FAILED: 'OUTCOME_FAILED';
    /**
     * Retries exhausted; stored for a person to inspect.
     */
    readonly OUTCOME_DEAD_LETTERED: 'OUTCOME_DEAD_LETTERED';
    /**
     * Graph may have it: the request was written and no usable answer came
     * (a timeout or a lost connection after writing, a 2xx without a message
     * id), or a crash cut the send off on the wire. Never resent blindly: the
     * status webhook or ResolveInDoubt settles it (ListInDoubt lists it).
     */
    readonly OUTCOME_IN_DOUBT: 'OUTCOME_IN_DOUBT';
    /**
     * dry_run: the request is valid and policy allows it.
     */
    readonly OUTCOME_DRY_RUN: 'OUTCOME_DRY_RUN';
    /**
     * Accepted into the outbox, not dispatched yet.
     */
    readonly OUTCOME_QUEUED: 'OUTCOME_QUEUED';
};
export type Outcome = 'OUTCOME_UNSPECIFIED' | 0
/**
 * Graph accepted the message; message_id holds the wamid.
 */
 | 'OUTCOME_SENT' | 1
/**
 * Policy refused; see decision.
 */
 | 'OUTCOME_REJECTED' | 2
/**
 * Graph refused permanently; see error.
 */
 | 'OUTCOME_FAILED' | 3
/**
 * Retries exhausted; stored for a person to inspect.
 */
 | 'OUTCOME_DEAD_LETTERED' | 4
/**
 * Graph may have it: the request was written and no usable answer came
 * (a timeout or a lost connection after writing, a 2xx without a message
 * id), or a crash cut the send off on the wire. Never resent blindly: the
 * status webhook or ResolveInDoubt settles it (ListInDoubt lists it).
 */
 | 'OUTCOME_IN_DOUBT' | 5
/**
 * dry_run: the request is valid and policy allows it.
 */
 | 'OUTCOME_DRY_RUN' | 6
/**
 * Accepted into the outbox, not dispatched yet.
 */
 | 'OUTCOME_QUEUED' | 7;
export type Outcome__Output = typeof Outcome[keyof typeof Outcome];
