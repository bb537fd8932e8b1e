import type { InDoubtResolution as _wasidecar_v1_InDoubtResolution, InDoubtResolution__Output as _wasidecar_v1_InDoubtResolution__Output } from '../../wasidecar/v1/InDoubtResolution';
export interface ResolveInDoubtRequest {
    'idempotencyKey'?: (string);
    'resolution'?: (_wasidecar_v1_InDoubtResolution);
    /**
     * The wamid, when known; only with IN_DOUBT_RESOLUTION_SENT.
     */
    'messageId'?: (string);
}
export interface ResolveInDoubtRequest__Output {
    'idempotencyKey': (string);
    'resolution': (_wasidecar_v1_InDoubtResolution__Output);
    /**
     * The wamid, when known; only with IN_DOUBT_RESOLUTION_SENT.
     */
    'messageId': (string);
}
