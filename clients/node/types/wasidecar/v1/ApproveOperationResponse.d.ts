import type { OperationStatus as _wasidecar_v1_OperationStatus, OperationStatus__Output as _wasidecar_v1_OperationStatus__Output } from '../../wasidecar/v1/OperationStatus';
import type { ErasureReceipt as _wasidecar_v1_ErasureReceipt, ErasureReceipt__Output as _wasidecar_v1_ErasureReceipt__Output } from '../../wasidecar/v1/ErasureReceipt';
import type { OverrideReceipt as _wasidecar_v1_OverrideReceipt, OverrideReceipt__Output as _wasidecar_v1_OverrideReceipt__Output } from '../../wasidecar/v1/OverrideReceipt';
export interface ApproveOperationResponse {
    'status'?: (_wasidecar_v1_OperationStatus);
    'operationId'?: (string);
    /**
     * Set when the operation was an erasure.
     */
    'receipt'?: (_wasidecar_v1_ErasureReceipt | null);
    /**
     * Set when the operation was a suppression override.
     */
    'overrideReceipt'?: (_wasidecar_v1_OverrideReceipt | null);
}
export interface ApproveOperationResponse__Output {
    'status': (_wasidecar_v1_OperationStatus__Output);
    'operationId': (string);
    /**
     * Set when the operation was an erasure.
     */
    'receipt': (_wasidecar_v1_ErasureReceipt__Output | null);
    /**
     * Set when the operation was a suppression override.
     */
    'overrideReceipt': (_wasidecar_v1_OverrideReceipt__Output | null);
}
