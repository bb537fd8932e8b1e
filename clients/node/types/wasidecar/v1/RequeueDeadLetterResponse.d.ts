import type { SendResponse as _wasidecar_v1_SendResponse, SendResponse__Output as _wasidecar_v1_SendResponse__Output } from '../../wasidecar/v1/SendResponse';
export interface RequeueDeadLetterResponse {
    'requeued'?: (boolean);
    'response'?: (_wasidecar_v1_SendResponse | null);
}
export interface RequeueDeadLetterResponse__Output {
    'requeued': (boolean);
    'response': (_wasidecar_v1_SendResponse__Output | null);
}
