import type { Outcome as _wasidecar_v1_Outcome, Outcome__Output as _wasidecar_v1_Outcome__Output } from '../../wasidecar/v1/Outcome';
import type { Decision as _wasidecar_v1_Decision, Decision__Output as _wasidecar_v1_Decision__Output } from '../../wasidecar/v1/Decision';
import type { SendError as _wasidecar_v1_SendError, SendError__Output as _wasidecar_v1_SendError__Output } from '../../wasidecar/v1/SendError';
export interface SendResponse {
    'idempotencyKey'?: (string);
    'outcome'?: (_wasidecar_v1_Outcome);
    /**
     * The wamid when sent.
     */
    'messageId'?: (string);
    'decision'?: (_wasidecar_v1_Decision | null);
    'error'?: (_wasidecar_v1_SendError | null);
    /**
     * Graph calls made (0 when refused by policy).
     */
    'attempts'?: (number);
}
export interface SendResponse__Output {
    'idempotencyKey': (string);
    'outcome': (_wasidecar_v1_Outcome__Output);
    /**
     * The wamid when sent.
     */
    'messageId': (string);
    'decision': (_wasidecar_v1_Decision__Output | null);
    'error': (_wasidecar_v1_SendError__Output | null);
    /**
     * Graph calls made (0 when refused by policy).
     */
    'attempts': (number);
}
