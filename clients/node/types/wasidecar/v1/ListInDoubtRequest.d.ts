export interface ListInDoubtRequest {
    'pageSize'?: (number);
    'pageToken'?: (string);
}
export interface ListInDoubtRequest__Output {
    'pageSize': (number);
    'pageToken': (string);
}
