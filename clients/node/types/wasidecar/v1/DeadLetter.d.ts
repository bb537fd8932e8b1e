import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { SendError as _wasidecar_v1_SendError, SendError__Output as _wasidecar_v1_SendError__Output } from '../../wasidecar/v1/SendError';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface DeadLetter {
    'id'?: (string);
    'idempotencyKey'?: (string);
    /**
     * Masked, e.g. "+1650•••1234".
     */
    'toMasked'?: (string);
    'category'?: (_wasidecar_v1_Category);
    'error'?: (_wasidecar_v1_SendError | null);
    'attempts'?: (number);
    'createdAt'?: (_google_protobuf_Timestamp | null);
    'phoneNumberId'?: (string);
}
export interface DeadLetter__Output {
    'id': (string);
    'idempotencyKey': (string);
    /**
     * Masked, e.g. "+1650•••1234".
     */
    'toMasked': (string);
    'category': (_wasidecar_v1_Category__Output);
    'error': (_wasidecar_v1_SendError__Output | null);
    'attempts': (number);
    'createdAt': (_google_protobuf_Timestamp__Output | null);
    'phoneNumberId': (string);
}
