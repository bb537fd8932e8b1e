export declare const OperationStatus: {
    readonly OPERATION_STATUS_UNSPECIFIED: 'OPERATION_STATUS_UNSPECIFIED';
    /**
     * Waiting for a different principal with the approver role.
     */
    readonly OPERATION_STATUS_PENDING_APPROVAL: 'OPERATION_STATUS_PENDING_APPROVAL';
    readonly OPERATION_STATUS_COMPLETED: 'OPERATION_STATUS_COMPLETED';
    readonly OPERATION_STATUS_EXPIRED: 'OPERATION_STATUS_EXPIRED';
};
export type OperationStatus = 'OPERATION_STATUS_UNSPECIFIED' | 0
/**
 * Waiting for a different principal with the approver role.
 */
 | 'OPERATION_STATUS_PENDING_APPROVAL' | 1 | 'OPERATION_STATUS_COMPLETED' | 2 | 'OPERATION_STATUS_EXPIRED' | 3;
export type OperationStatus__Output = typeof OperationStatus[keyof typeof OperationStatus];
