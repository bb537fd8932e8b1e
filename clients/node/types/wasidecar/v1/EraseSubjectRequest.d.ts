export interface EraseSubjectRequest {
    'phoneNumber'?: (string);
    'reason'?: (string);
}
export interface EraseSubjectRequest__Output {
    'phoneNumber': (string);
    'reason': (string);
}
