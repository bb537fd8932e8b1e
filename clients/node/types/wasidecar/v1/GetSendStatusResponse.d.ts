import type { SendResponse as _wasidecar_v1_SendResponse, SendResponse__Output as _wasidecar_v1_SendResponse__Output } from '../../wasidecar/v1/SendResponse';
export interface GetSendStatusResponse {
    'found'?: (boolean);
    'response'?: (_wasidecar_v1_SendResponse | null);
    /**
     * Latest delivery status from webhooks: "sent", "delivered", "read", "failed".
     */
    'deliveryStatus'?: (string);
}
export interface GetSendStatusResponse__Output {
    'found': (boolean);
    'response': (_wasidecar_v1_SendResponse__Output | null);
    /**
     * Latest delivery status from webhooks: "sent", "delivered", "read", "failed".
     */
    'deliveryStatus': (string);
}
