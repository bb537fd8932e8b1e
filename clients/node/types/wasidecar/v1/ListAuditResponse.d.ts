import type { AuditEntry as _wasidecar_v1_AuditEntry, AuditEntry__Output as _wasidecar_v1_AuditEntry__Output } from '../../wasidecar/v1/AuditEntry';
export interface ListAuditResponse {
    'entries'?: (_wasidecar_v1_AuditEntry)[];
    'nextPageToken'?: (string);
}
export interface ListAuditResponse__Output {
    'entries': (_wasidecar_v1_AuditEntry__Output)[];
    'nextPageToken': (string);
}
