export interface ClassifyRequest {
    'httpStatus'?: (number);
    /**
     * The Graph error response body, as received.
     */
    'body'?: (Buffer | Uint8Array | string);
    /**
     * Set instead of a body for transport failures: "timeout", "connection".
     */
    'networkError'?: (string);
}
export interface ClassifyRequest__Output {
    'httpStatus': (number);
    /**
     * The Graph error response body, as received.
     */
    'body': (Buffer);
    /**
     * Set instead of a body for transport failures: "timeout", "connection".
     */
    'networkError': (string);
}
