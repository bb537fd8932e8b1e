export interface ExportSubjectRequest {
    'phoneNumber'?: (string);
}
export interface ExportSubjectRequest__Output {
    'phoneNumber': (string);
}
