export interface GetSendStatusRequest {
    'idempotencyKey'?: (string);
}
export interface GetSendStatusRequest__Output {
    'idempotencyKey': (string);
}
