export interface GetRequest {
    'phoneNumber'?: (string);
}
export interface GetRequest__Output {
    'phoneNumber': (string);
}
