export interface ListDeadLettersRequest {
    'pageSize'?: (number);
    'pageToken'?: (string);
}
export interface ListDeadLettersRequest__Output {
    'pageSize': (number);
    'pageToken': (string);
}
