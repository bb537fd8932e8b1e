import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';
export interface AuditEntry {
    'seq'?: (number | string | Long);
    'time'?: (_google_protobuf_Timestamp | null);
    'actor'?: (string);
    'action'?: (string);
    /**
     * Blind index of the subject, if any.
     */
    'subjectIndex'?: (string);
    /**
     * Structured details as JSON (no personal data).
     */
    'detailJson'?: (string);
    'prevHash'?: (string);
    'hash'?: (string);
}
export interface AuditEntry__Output {
    'seq': (number);
    'time': (_google_protobuf_Timestamp__Output | null);
    'actor': (string);
    'action': (string);
    /**
     * Blind index of the subject, if any.
     */
    'subjectIndex': (string);
    /**
     * Structured details as JSON (no personal data).
     */
    'detailJson': (string);
    'prevHash': (string);
    'hash': (string);
}
