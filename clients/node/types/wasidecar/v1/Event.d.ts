import type { InboundMessage as _wasidecar_v1_InboundMessage, InboundMessage__Output as _wasidecar_v1_InboundMessage__Output } from '../../wasidecar/v1/InboundMessage';
import type { StatusUpdate as _wasidecar_v1_StatusUpdate, StatusUpdate__Output as _wasidecar_v1_StatusUpdate__Output } from '../../wasidecar/v1/StatusUpdate';
import type { PreferenceUpdate as _wasidecar_v1_PreferenceUpdate, PreferenceUpdate__Output as _wasidecar_v1_PreferenceUpdate__Output } from '../../wasidecar/v1/PreferenceUpdate';
import type { SystemError as _wasidecar_v1_SystemError, SystemError__Output as _wasidecar_v1_SystemError__Output } from '../../wasidecar/v1/SystemError';
import type { TemplateStatusUpdate as _wasidecar_v1_TemplateStatusUpdate, TemplateStatusUpdate__Output as _wasidecar_v1_TemplateStatusUpdate__Output } from '../../wasidecar/v1/TemplateStatusUpdate';
import type { TemplateCategoryUpdate as _wasidecar_v1_TemplateCategoryUpdate, TemplateCategoryUpdate__Output as _wasidecar_v1_TemplateCategoryUpdate__Output } from '../../wasidecar/v1/TemplateCategoryUpdate';
import type { PhoneQualityUpdate as _wasidecar_v1_PhoneQualityUpdate, PhoneQualityUpdate__Output as _wasidecar_v1_PhoneQualityUpdate__Output } from '../../wasidecar/v1/PhoneQualityUpdate';
import type { CapabilityUpdate as _wasidecar_v1_CapabilityUpdate, CapabilityUpdate__Output as _wasidecar_v1_CapabilityUpdate__Output } from '../../wasidecar/v1/CapabilityUpdate';
import type { AccountAlert as _wasidecar_v1_AccountAlert, AccountAlert__Output as _wasidecar_v1_AccountAlert__Output } from '../../wasidecar/v1/AccountAlert';
import type { Long } from '@grpc/proto-loader';
export interface Event {
    'message'?: (_wasidecar_v1_InboundMessage | null);
    'status'?: (_wasidecar_v1_StatusUpdate | null);
    'preference'?: (_wasidecar_v1_PreferenceUpdate | null);
    'error'?: (_wasidecar_v1_SystemError | null);
    /**
     * WABA id (entry[].id).
     */
    'wabaId'?: (string);
    /**
     * Account webhooks (no effect on sends beyond what their comments say).
     */
    'templateStatus'?: (_wasidecar_v1_TemplateStatusUpdate | null);
    'templateCategory'?: (_wasidecar_v1_TemplateCategoryUpdate | null);
    'phoneQuality'?: (_wasidecar_v1_PhoneQualityUpdate | null);
    'capability'?: (_wasidecar_v1_CapabilityUpdate | null);
    'accountAlert'?: (_wasidecar_v1_AccountAlert | null);
    /**
     * entry[].time of an account webhook (when Meta triggered it), Unix seconds; 0 if absent.
     */
    'entryTime'?: (number | string | Long);
    'kind'?: "message" | "status" | "preference" | "error" | "templateStatus" | "templateCategory" | "phoneQuality" | "capability" | "accountAlert";
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
    /**
     * Account webhooks (no effect on sends beyond what their comments say).
     */
    'templateStatus'?: (_wasidecar_v1_TemplateStatusUpdate__Output | null);
    'templateCategory'?: (_wasidecar_v1_TemplateCategoryUpdate__Output | null);
    'phoneQuality'?: (_wasidecar_v1_PhoneQualityUpdate__Output | null);
    'capability'?: (_wasidecar_v1_CapabilityUpdate__Output | null);
    'accountAlert'?: (_wasidecar_v1_AccountAlert__Output | null);
    /**
     * entry[].time of an account webhook (when Meta triggered it), Unix seconds; 0 if absent.
     */
    'entryTime': (number);
    'kind'?: "message" | "status" | "preference" | "error" | "templateStatus" | "templateCategory" | "phoneQuality" | "capability" | "accountAlert";
}
