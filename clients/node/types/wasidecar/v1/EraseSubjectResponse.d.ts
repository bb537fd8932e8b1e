import type { OperationStatus as _wasidecar_v1_OperationStatus, OperationStatus__Output as _wasidecar_v1_OperationStatus__Output } from '../../wasidecar/v1/OperationStatus';
import type { ErasureReceipt as _wasidecar_v1_ErasureReceipt, ErasureReceipt__Output as _wasidecar_v1_ErasureReceipt__Output } from '../../wasidecar/v1/ErasureReceipt';
export interface EraseSubjectResponse {
    'status'?: (_wasidecar_v1_OperationStatus);
    'operationId'?: (string);
    'receipt'?: (_wasidecar_v1_ErasureReceipt | null);
}
export interface EraseSubjectResponse__Output {
    'status': (_wasidecar_v1_OperationStatus__Output);
    'operationId': (string);
    'receipt': (_wasidecar_v1_ErasureReceipt__Output | null);
}
