import type { Jurisdiction as _wasidecar_v1_Jurisdiction, Jurisdiction__Output as _wasidecar_v1_Jurisdiction__Output } from '../../wasidecar/v1/Jurisdiction';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface ConsentProof {
    'source'?: (string);
    'noticeVersion'?: (string);
    'jurisdiction'?: (_wasidecar_v1_Jurisdiction);
    'evidence'?: (string);
    /**
     * The calling principal that recorded it.
     */
    'actor'?: (string);
    'recordedAt'?: (_google_protobuf_Timestamp | null);
    'reason'?: (string);
}
export interface ConsentProof__Output {
    'source': (string);
    'noticeVersion': (string);
    'jurisdiction': (_wasidecar_v1_Jurisdiction__Output);
    'evidence': (string);
    /**
     * The calling principal that recorded it.
     */
    'actor': (string);
    'recordedAt': (_google_protobuf_Timestamp__Output | null);
    'reason': (string);
}
