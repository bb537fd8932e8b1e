import type { ErrorClass as _wasidecar_v1_ErrorClass, ErrorClass__Output as _wasidecar_v1_ErrorClass__Output } from '../../wasidecar/v1/ErrorClass';
export interface SendError {
    /**
     * Graph error code (e.g. 131056); 0 for network errors and timeouts.
     */
    'code'?: (number);
    'errorClass'?: (_wasidecar_v1_ErrorClass);
    'retryable'?: (boolean);
    'message'?: (string);
    'fbtraceId'?: (string);
    'httpStatus'?: (number);
    'subcode'?: (number);
}
export interface SendError__Output {
    /**
     * Graph error code (e.g. 131056); 0 for network errors and timeouts.
     */
    'code': (number);
    'errorClass': (_wasidecar_v1_ErrorClass__Output);
    'retryable': (boolean);
    'message': (string);
    'fbtraceId': (string);
    'httpStatus': (number);
    'subcode': (number);
}
