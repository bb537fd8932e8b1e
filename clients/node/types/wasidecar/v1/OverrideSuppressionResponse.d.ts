import type { OperationStatus as _wasidecar_v1_OperationStatus, OperationStatus__Output as _wasidecar_v1_OperationStatus__Output } from '../../wasidecar/v1/OperationStatus';
export interface OverrideSuppressionResponse {
    /**
     * OPERATION_STATUS_PENDING_APPROVAL until a different approver runs it.
     */
    'status'?: (_wasidecar_v1_OperationStatus);
    'operationId'?: (string);
}
export interface OverrideSuppressionResponse__Output {
    /**
     * OPERATION_STATUS_PENDING_APPROVAL until a different approver runs it.
     */
    'status': (_wasidecar_v1_OperationStatus__Output);
    'operationId': (string);
}
