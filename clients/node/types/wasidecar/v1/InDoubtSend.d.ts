import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface InDoubtSend {
    'idempotencyKey'?: (string);
    'toMasked'?: (string);
    'category'?: (_wasidecar_v1_Category);
    'startedAt'?: (_google_protobuf_Timestamp | null);
    'phoneNumberId'?: (string);
}
export interface InDoubtSend__Output {
    'idempotencyKey': (string);
    'toMasked': (string);
    'category': (_wasidecar_v1_Category__Output);
    'startedAt': (_google_protobuf_Timestamp__Output | null);
    'phoneNumberId': (string);
}
