import type { ConsentState as _wasidecar_v1_ConsentState, ConsentState__Output as _wasidecar_v1_ConsentState__Output } from '../../wasidecar/v1/ConsentState';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { MessageRecord as _wasidecar_v1_MessageRecord, MessageRecord__Output as _wasidecar_v1_MessageRecord__Output } from '../../wasidecar/v1/MessageRecord';
import type { AuditEntry as _wasidecar_v1_AuditEntry, AuditEntry__Output as _wasidecar_v1_AuditEntry__Output } from '../../wasidecar/v1/AuditEntry';
export interface ExportSubjectResponse {
    'subjectIndex'?: (string);
    'consent'?: (_wasidecar_v1_ConsentState | null);
    /**
     * Last inbound message time per business phone number id (service window).
     */
    'lastInbound'?: ({
        [key: string]: _google_protobuf_Timestamp;
    });
    'messages'?: (_wasidecar_v1_MessageRecord)[];
    'audit'?: (_wasidecar_v1_AuditEntry)[];
    'suppressed'?: (boolean);
    /**
     * The same content as one JSON document.
     */
    'exportJson'?: (string);
}
export interface ExportSubjectResponse__Output {
    'subjectIndex': (string);
    'consent': (_wasidecar_v1_ConsentState__Output | null);
    /**
     * Last inbound message time per business phone number id (service window).
     */
    'lastInbound': ({
        [key: string]: _google_protobuf_Timestamp__Output;
    });
    'messages': (_wasidecar_v1_MessageRecord__Output)[];
    'audit': (_wasidecar_v1_AuditEntry__Output)[];
    'suppressed': (boolean);
    /**
     * The same content as one JSON document.
     */
    'exportJson': (string);
}
