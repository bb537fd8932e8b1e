export interface ClassifyRequest {
    'httpStatus'?: (number);
    /**
     * The Graph error response body, as received.
     */
    'body'?: (Buffer | Uint8Array | string);
    /**
     * Set instead of a body for transport failures: "connect" (the request
     * was not written: DNS, refused, TLS, pool wait; retried), "timeout" or
     * "connection" (written, no usable answer: in doubt, not retried).
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
     * Set instead of a body for transport failures: "connect" (the request
     * was not written: DNS, refused, TLS, pool wait; retried), "timeout" or
     * "connection" (written, no usable answer: in doubt, not retried).
     */
    'networkError': (string);
}
