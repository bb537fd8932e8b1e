import type { Outcome as _wasidecar_v1_Outcome, Outcome__Output as _wasidecar_v1_Outcome__Output } from '../../wasidecar/v1/Outcome';
import type { Decision as _wasidecar_v1_Decision, Decision__Output as _wasidecar_v1_Decision__Output } from '../../wasidecar/v1/Decision';
export interface EnqueueResponse {
    'idempotencyKey'?: (string);
    /**
     * OUTCOME_QUEUED when accepted; a final outcome when the key was known.
     */
    'outcome'?: (_wasidecar_v1_Outcome);
    /**
     * Set when the request was refused before queueing.
     */
    'decision'?: (_wasidecar_v1_Decision | null);
}
export interface EnqueueResponse__Output {
    'idempotencyKey': (string);
    /**
     * OUTCOME_QUEUED when accepted; a final outcome when the key was known.
     */
    'outcome': (_wasidecar_v1_Outcome__Output);
    /**
     * Set when the request was refused before queueing.
     */
    'decision': (_wasidecar_v1_Decision__Output | null);
}
