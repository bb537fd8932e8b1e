import type { Reason as _wasidecar_v1_Reason, Reason__Output as _wasidecar_v1_Reason__Output } from '../../wasidecar/v1/Reason';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
/**
 * A policy verdict. Refusals are answers, not gRPC errors.
 */
export interface Decision {
    'allowed'?: (boolean);
    'reason'?: (_wasidecar_v1_Reason);
    /**
     * Human-readable explanation; never contains a phone number or secret.
     */
    'detail'?: (string);
    /**
     * When a retry could succeed (quota and pair-limit refusals).
     */
    'retryAfter'?: (_google_protobuf_Duration | null);
}
/**
 * A policy verdict. Refusals are answers, not gRPC errors.
 */
export interface Decision__Output {
    'allowed': (boolean);
    'reason': (_wasidecar_v1_Reason__Output);
    /**
     * Human-readable explanation; never contains a phone number or secret.
     */
    'detail': (string);
    /**
     * When a retry could succeed (quota and pair-limit refusals).
     */
    'retryAfter': (_google_protobuf_Duration__Output | null);
}
