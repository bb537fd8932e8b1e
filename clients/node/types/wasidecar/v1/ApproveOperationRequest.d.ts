export interface ApproveOperationRequest {
    'operationId'?: (string);
}
export interface ApproveOperationRequest__Output {
    'operationId': (string);
}
