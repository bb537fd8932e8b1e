export interface ListAuditRequest {
    'pageSize'?: (number);
    'pageToken'?: (string);
    /**
     * Only entries naming this number (by blind index).
     */
    'phoneNumber'?: (string);
}
export interface ListAuditRequest__Output {
    'pageSize': (number);
    'pageToken': (string);
    /**
     * Only entries naming this number (by blind index).
     */
    'phoneNumber': (string);
}
