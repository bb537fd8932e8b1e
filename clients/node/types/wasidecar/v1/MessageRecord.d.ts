import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface MessageRecord {
    'idempotencyKey'?: (string);
    'messageId'?: (string);
    'category'?: (_wasidecar_v1_Category);
    'outcome'?: (string);
    'deliveryStatus'?: (string);
    'createdAt'?: (_google_protobuf_Timestamp | null);
}
export interface MessageRecord__Output {
    'idempotencyKey': (string);
    'messageId': (string);
    'category': (_wasidecar_v1_Category__Output);
    'outcome': (string);
    'deliveryStatus': (string);
    'createdAt': (_google_protobuf_Timestamp__Output | null);
}
