import type { MethodDefinition } from '@grpc/proto-loader';
import type { ApproveOperationRequest as _wasidecar_v1_ApproveOperationRequest, ApproveOperationRequest__Output as _wasidecar_v1_ApproveOperationRequest__Output } from '../../wasidecar/v1/ApproveOperationRequest';
import type { ApproveOperationResponse as _wasidecar_v1_ApproveOperationResponse, ApproveOperationResponse__Output as _wasidecar_v1_ApproveOperationResponse__Output } from '../../wasidecar/v1/ApproveOperationResponse';
import type { ConsentState as _wasidecar_v1_ConsentState, ConsentState__Output as _wasidecar_v1_ConsentState__Output } from '../../wasidecar/v1/ConsentState';
import type { EraseSubjectRequest as _wasidecar_v1_EraseSubjectRequest, EraseSubjectRequest__Output as _wasidecar_v1_EraseSubjectRequest__Output } from '../../wasidecar/v1/EraseSubjectRequest';
import type { EraseSubjectResponse as _wasidecar_v1_EraseSubjectResponse, EraseSubjectResponse__Output as _wasidecar_v1_EraseSubjectResponse__Output } from '../../wasidecar/v1/EraseSubjectResponse';
import type { ExportSubjectRequest as _wasidecar_v1_ExportSubjectRequest, ExportSubjectRequest__Output as _wasidecar_v1_ExportSubjectRequest__Output } from '../../wasidecar/v1/ExportSubjectRequest';
import type { ExportSubjectResponse as _wasidecar_v1_ExportSubjectResponse, ExportSubjectResponse__Output as _wasidecar_v1_ExportSubjectResponse__Output } from '../../wasidecar/v1/ExportSubjectResponse';
import type { GetRequest as _wasidecar_v1_GetRequest, GetRequest__Output as _wasidecar_v1_GetRequest__Output } from '../../wasidecar/v1/GetRequest';
import type { GrantRequest as _wasidecar_v1_GrantRequest, GrantRequest__Output as _wasidecar_v1_GrantRequest__Output } from '../../wasidecar/v1/GrantRequest';
import type { ListAuditRequest as _wasidecar_v1_ListAuditRequest, ListAuditRequest__Output as _wasidecar_v1_ListAuditRequest__Output } from '../../wasidecar/v1/ListAuditRequest';
import type { ListAuditResponse as _wasidecar_v1_ListAuditResponse, ListAuditResponse__Output as _wasidecar_v1_ListAuditResponse__Output } from '../../wasidecar/v1/ListAuditResponse';
import type { OverrideSuppressionRequest as _wasidecar_v1_OverrideSuppressionRequest, OverrideSuppressionRequest__Output as _wasidecar_v1_OverrideSuppressionRequest__Output } from '../../wasidecar/v1/OverrideSuppressionRequest';
import type { OverrideSuppressionResponse as _wasidecar_v1_OverrideSuppressionResponse, OverrideSuppressionResponse__Output as _wasidecar_v1_OverrideSuppressionResponse__Output } from '../../wasidecar/v1/OverrideSuppressionResponse';
import type { RevokeRequest as _wasidecar_v1_RevokeRequest, RevokeRequest__Output as _wasidecar_v1_RevokeRequest__Output } from '../../wasidecar/v1/RevokeRequest';
import type { VerifyAuditRequest as _wasidecar_v1_VerifyAuditRequest, VerifyAuditRequest__Output as _wasidecar_v1_VerifyAuditRequest__Output } from '../../wasidecar/v1/VerifyAuditRequest';
import type { VerifyAuditResponse as _wasidecar_v1_VerifyAuditResponse, VerifyAuditResponse__Output as _wasidecar_v1_VerifyAuditResponse__Output } from '../../wasidecar/v1/VerifyAuditResponse';
export interface ConsentServiceDefinition {
    ApproveOperation: MethodDefinition<_wasidecar_v1_ApproveOperationRequest, _wasidecar_v1_ApproveOperationResponse, _wasidecar_v1_ApproveOperationRequest__Output, _wasidecar_v1_ApproveOperationResponse__Output>;
    EraseSubject: MethodDefinition<_wasidecar_v1_EraseSubjectRequest, _wasidecar_v1_EraseSubjectResponse, _wasidecar_v1_EraseSubjectRequest__Output, _wasidecar_v1_EraseSubjectResponse__Output>;
    ExportSubject: MethodDefinition<_wasidecar_v1_ExportSubjectRequest, _wasidecar_v1_ExportSubjectResponse, _wasidecar_v1_ExportSubjectRequest__Output, _wasidecar_v1_ExportSubjectResponse__Output>;
    Get: MethodDefinition<_wasidecar_v1_GetRequest, _wasidecar_v1_ConsentState, _wasidecar_v1_GetRequest__Output, _wasidecar_v1_ConsentState__Output>;
    Grant: MethodDefinition<_wasidecar_v1_GrantRequest, _wasidecar_v1_ConsentState, _wasidecar_v1_GrantRequest__Output, _wasidecar_v1_ConsentState__Output>;
    ListAudit: MethodDefinition<_wasidecar_v1_ListAuditRequest, _wasidecar_v1_ListAuditResponse, _wasidecar_v1_ListAuditRequest__Output, _wasidecar_v1_ListAuditResponse__Output>;
    OverrideSuppression: MethodDefinition<_wasidecar_v1_OverrideSuppressionRequest, _wasidecar_v1_OverrideSuppressionResponse, _wasidecar_v1_OverrideSuppressionRequest__Output, _wasidecar_v1_OverrideSuppressionResponse__Output>;
    Revoke: MethodDefinition<_wasidecar_v1_RevokeRequest, _wasidecar_v1_ConsentState, _wasidecar_v1_RevokeRequest__Output, _wasidecar_v1_ConsentState__Output>;
    VerifyAudit: MethodDefinition<_wasidecar_v1_VerifyAuditRequest, _wasidecar_v1_VerifyAuditResponse, _wasidecar_v1_VerifyAuditRequest__Output, _wasidecar_v1_VerifyAuditResponse__Output>;
}
