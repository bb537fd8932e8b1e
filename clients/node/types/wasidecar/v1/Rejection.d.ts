export declare const Rejection: {
    readonly REJECTION_UNSPECIFIED: 'REJECTION_UNSPECIFIED';
    readonly REJECTION_BAD_SIGNATURE: 'REJECTION_BAD_SIGNATURE';
    readonly REJECTION_MISSING_SIGNATURE: 'REJECTION_MISSING_SIGNATURE';
    readonly REJECTION_IP_NOT_ALLOWED: 'REJECTION_IP_NOT_ALLOWED';
    readonly REJECTION_RATE_LIMITED: 'REJECTION_RATE_LIMITED';
    readonly REJECTION_MALFORMED_PAYLOAD: 'REJECTION_MALFORMED_PAYLOAD';
    readonly REJECTION_TOO_LARGE: 'REJECTION_TOO_LARGE';
    /**
     * The header is not "sha256=" followed by 64 hex digits.
     */
    readonly REJECTION_MALFORMED_SIGNATURE: 'REJECTION_MALFORMED_SIGNATURE';
    /**
     * Only a legacy "sha1=" signature was given.
     */
    readonly REJECTION_UNSUPPORTED_SIGNATURE: 'REJECTION_UNSUPPORTED_SIGNATURE';
    /**
     * No App Secret is configured, so nothing can be verified.
     */
    readonly REJECTION_NOT_CONFIGURED: 'REJECTION_NOT_CONFIGURED';
};
export type Rejection = 'REJECTION_UNSPECIFIED' | 0 | 'REJECTION_BAD_SIGNATURE' | 1 | 'REJECTION_MISSING_SIGNATURE' | 2 | 'REJECTION_IP_NOT_ALLOWED' | 3 | 'REJECTION_RATE_LIMITED' | 4 | 'REJECTION_MALFORMED_PAYLOAD' | 5 | 'REJECTION_TOO_LARGE' | 6
/**
 * The header is not "sha256=" followed by 64 hex digits.
 */
 | 'REJECTION_MALFORMED_SIGNATURE' | 7
/**
 * Only a legacy "sha1=" signature was given.
 */
 | 'REJECTION_UNSUPPORTED_SIGNATURE' | 8
/**
 * No App Secret is configured, so nothing can be verified.
 */
 | 'REJECTION_NOT_CONFIGURED' | 9;
export type Rejection__Output = typeof Rejection[keyof typeof Rejection];
