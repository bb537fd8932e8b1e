import type { InboundMessage as _wasidecar_v1_InboundMessage, InboundMessage__Output as _wasidecar_v1_InboundMessage__Output } from '../../wasidecar/v1/InboundMessage';
import type { StatusUpdate as _wasidecar_v1_StatusUpdate, StatusUpdate__Output as _wasidecar_v1_StatusUpdate__Output } from '../../wasidecar/v1/StatusUpdate';
import type { PreferenceUpdate as _wasidecar_v1_PreferenceUpdate, PreferenceUpdate__Output as _wasidecar_v1_PreferenceUpdate__Output } from '../../wasidecar/v1/PreferenceUpdate';
import type { SystemError as _wasidecar_v1_SystemError, SystemError__Output as _wasidecar_v1_SystemError__Output } from '../../wasidecar/v1/SystemError';
export interface Event {
    'message'?: (_wasidecar_v1_InboundMessage | null);
    'status'?: (_wasidecar_v1_StatusUpdate | null);
    'preference'?: (_wasidecar_v1_PreferenceUpdate | null);
    'error'?: (_wasidecar_v1_SystemError | null);
    /**
     * WABA id (entry[].id).
     */
    'wabaId'?: (string);
    'kind'?: "message" | "status" | "preference" | "error";
}
export interface Event__Output {
    'message'?: (_wasidecar_v1_InboundMessage__Output | null);
    'status'?: (_wasidecar_v1_StatusUpdate__Output | null);
    'preference'?: (_wasidecar_v1_PreferenceUpdate__Output | null);
    'error'?: (_wasidecar_v1_SystemError__Output | null);
    /**
     * WABA id (entry[].id).
     */
    'wabaId': (string);
    'kind'?: "message" | "status" | "preference" | "error";
}
