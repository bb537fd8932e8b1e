import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface OverrideReceipt {
    'subjectIndex'?: (string);
    /**
     * The categories the override covered; none of them is suppressed after it.
     */
    'categories'?: (_wasidecar_v1_Category)[];
    'requestedBy'?: (string);
    'approvedBy'?: (string);
    'overriddenAt'?: (_google_protobuf_Timestamp | null);
    /**
     * SHA-256 over the receipt content and the reason.
     */
    'digest'?: (string);
}
export interface OverrideReceipt__Output {
    'subjectIndex': (string);
    /**
     * The categories the override covered; none of them is suppressed after it.
     */
    'categories': (_wasidecar_v1_Category__Output)[];
    'requestedBy': (string);
    'approvedBy': (string);
    'overriddenAt': (_google_protobuf_Timestamp__Output | null);
    /**
     * SHA-256 over the receipt content and the reason.
     */
    'digest': (string);
}
