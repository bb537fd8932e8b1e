import type { StatusError as _wasidecar_v1_StatusError, StatusError__Output as _wasidecar_v1_StatusError__Output } from '../../wasidecar/v1/StatusError';
import type { Long } from '@grpc/proto-loader';
export interface StatusUpdate {
    /**
     * The wamid of the outgoing message.
     */
    'id'?: (string);
    /**
     * "sent", "delivered", "read", "failed", "played".
     */
    'status'?: (string);
    'recipientId'?: (string);
    'timestamp'?: (number | string | Long);
    'errors'?: (_wasidecar_v1_StatusError)[];
    /**
     * Echoed from biz_opaque_callback_data: the send's idempotency key.
     */
    'idempotencyKey'?: (string);
    'phoneNumberId'?: (string);
    /**
     * pricing.category when present ("marketing", "utility", ...).
     */
    'pricingCategory'?: (string);
    /**
     * A 131050 failure, recorded as a marketing opt-out.
     */
    'optOut'?: (boolean);
}
export interface StatusUpdate__Output {
    /**
     * The wamid of the outgoing message.
     */
    'id': (string);
    /**
     * "sent", "delivered", "read", "failed", "played".
     */
    'status': (string);
    'recipientId': (string);
    'timestamp': (number);
    'errors': (_wasidecar_v1_StatusError__Output)[];
    /**
     * Echoed from biz_opaque_callback_data: the send's idempotency key.
     */
    'idempotencyKey': (string);
    'phoneNumberId': (string);
    /**
     * pricing.category when present ("marketing", "utility", ...).
     */
    'pricingCategory': (string);
    /**
     * A 131050 failure, recorded as a marketing opt-out.
     */
    'optOut': (boolean);
}
