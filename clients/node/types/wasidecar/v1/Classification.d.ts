import type { ErrorClass as _wasidecar_v1_ErrorClass, ErrorClass__Output as _wasidecar_v1_ErrorClass__Output } from '../../wasidecar/v1/ErrorClass';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
export interface Classification {
    'errorClass'?: (_wasidecar_v1_ErrorClass);
    'retryable'?: (boolean);
    'retryAfter'?: (_google_protobuf_Duration | null);
    'code'?: (number);
    'reason'?: (string);
}
export interface Classification__Output {
    'errorClass': (_wasidecar_v1_ErrorClass__Output);
    'retryable': (boolean);
    'retryAfter': (_google_protobuf_Duration__Output | null);
    'code': (number);
    'reason': (string);
}
