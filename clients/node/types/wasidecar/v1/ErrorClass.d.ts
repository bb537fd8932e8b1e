/**
 * How a Graph API error should be handled.
 */
export declare const ErrorClass: {
    readonly ERROR_CLASS_UNSPECIFIED: 'ERROR_CLASS_UNSPECIFIED';
    /**
     * Retry with exponential backoff (5xx, timeouts, 1, 2, 131000, 131016, ...).
     */
    readonly ERROR_CLASS_TRANSIENT: 'ERROR_CLASS_TRANSIENT';
    /**
     * Retry after the limit resets (130429, 80007, 4, 131056, ...).
     */
    readonly ERROR_CLASS_THROTTLED: 'ERROR_CLASS_THROTTLED';
    /**
     * Refresh the token, then retry once (0, 190).
     */
    readonly ERROR_CLASS_AUTH: 'ERROR_CLASS_AUTH';
    /**
     * Permanent for this recipient (130403, 131026, 131050, ...).
     */
    readonly ERROR_CLASS_RECIPIENT: 'ERROR_CLASS_RECIPIENT';
    /**
     * Fix the template (132000, 132001, ...).
     */
    readonly ERROR_CLASS_TEMPLATE: 'ERROR_CLASS_TEMPLATE';
    /**
     * Account or policy problem: halt and alert (368, 131031, 131042, ...).
     */
    readonly ERROR_CLASS_POLICY: 'ERROR_CLASS_POLICY';
    /**
     * Fix the request; never retried (100, 131008, 131009, ...).
     */
    readonly ERROR_CLASS_PERMANENT: 'ERROR_CLASS_PERMANENT';
};
/**
 * How a Graph API error should be handled.
 */
export type ErrorClass = 'ERROR_CLASS_UNSPECIFIED' | 0
/**
 * Retry with exponential backoff (5xx, timeouts, 1, 2, 131000, 131016, ...).
 */
 | 'ERROR_CLASS_TRANSIENT' | 1
/**
 * Retry after the limit resets (130429, 80007, 4, 131056, ...).
 */
 | 'ERROR_CLASS_THROTTLED' | 2
/**
 * Refresh the token, then retry once (0, 190).
 */
 | 'ERROR_CLASS_AUTH' | 3
/**
 * Permanent for this recipient (130403, 131026, 131050, ...).
 */
 | 'ERROR_CLASS_RECIPIENT' | 4
/**
 * Fix the template (132000, 132001, ...).
 */
 | 'ERROR_CLASS_TEMPLATE' | 5
/**
 * Account or policy problem: halt and alert (368, 131031, 131042, ...).
 */
 | 'ERROR_CLASS_POLICY' | 6
/**
 * Fix the request; never retried (100, 131008, 131009, ...).
 */
 | 'ERROR_CLASS_PERMANENT' | 7;
/**
 * How a Graph API error should be handled.
 */
export type ErrorClass__Output = typeof ErrorClass[keyof typeof ErrorClass];
