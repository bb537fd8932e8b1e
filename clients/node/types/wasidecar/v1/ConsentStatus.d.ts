export declare const ConsentStatus: {
    readonly CONSENT_STATUS_UNSPECIFIED: 'CONSENT_STATUS_UNSPECIFIED';
    readonly CONSENT_STATUS_GRANTED: 'CONSENT_STATUS_GRANTED';
    readonly CONSENT_STATUS_REVOKED: 'CONSENT_STATUS_REVOKED';
    /**
     * Nothing recorded.
     */
    readonly CONSENT_STATUS_UNKNOWN: 'CONSENT_STATUS_UNKNOWN';
};
export type ConsentStatus = 'CONSENT_STATUS_UNSPECIFIED' | 0 | 'CONSENT_STATUS_GRANTED' | 1 | 'CONSENT_STATUS_REVOKED' | 2
/**
 * Nothing recorded.
 */
 | 'CONSENT_STATUS_UNKNOWN' | 3;
export type ConsentStatus__Output = typeof ConsentStatus[keyof typeof ConsentStatus];
