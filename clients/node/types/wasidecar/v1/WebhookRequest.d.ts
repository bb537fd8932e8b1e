export interface WebhookRequest {
    /**
     * The request body exactly as received (never re-serialised).
     */
    'body'?: (Buffer | Uint8Array | string);
    /**
     * The X-Hub-Signature-256 header value, "sha256=<hex>".
     */
    'signature'?: (string);
    /**
     * The peer address of the HTTP connection.
     */
    'remoteIp'?: (string);
    /**
     * Optional request headers (lower-case names), e.g. x-forwarded-for.
     */
    'headers'?: ({
        [key: string]: string;
    });
}
export interface WebhookRequest__Output {
    /**
     * The request body exactly as received (never re-serialised).
     */
    'body': (Buffer);
    /**
     * The X-Hub-Signature-256 header value, "sha256=<hex>".
     */
    'signature': (string);
    /**
     * The peer address of the HTTP connection.
     */
    'remoteIp': (string);
    /**
     * Optional request headers (lower-case names), e.g. x-forwarded-for.
     */
    'headers': ({
        [key: string]: string;
    });
}
