import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface ErasureReceipt {
    'subjectIndex'?: (string);
    'erasedAt'?: (_google_protobuf_Timestamp | null);
    'erasedBy'?: (string);
    'approvedBy'?: (string);
    /**
     * What was erased, with counts, e.g. "consent_events:3".
     */
    'erased'?: (string)[];
    /**
     * A keyed suppression entry was kept so erasure never re-enables messaging.
     */
    'suppressionKept'?: (boolean);
    /**
     * SHA-256 over the receipt content.
     */
    'digest'?: (string);
    /**
     * Nothing was held about the number.
     */
    'nothingFound'?: (boolean);
}
export interface ErasureReceipt__Output {
    'subjectIndex': (string);
    'erasedAt': (_google_protobuf_Timestamp__Output | null);
    'erasedBy': (string);
    'approvedBy': (string);
    /**
     * What was erased, with counts, e.g. "consent_events:3".
     */
    'erased': (string)[];
    /**
     * A keyed suppression entry was kept so erasure never re-enables messaging.
     */
    'suppressionKept': (boolean);
    /**
     * SHA-256 over the receipt content.
     */
    'digest': (string);
    /**
     * Nothing was held about the number.
     */
    'nothingFound': (boolean);
}
