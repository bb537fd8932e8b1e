/**
 * account_alerts: an alert about the business, a number or its limits.
 */
export interface AccountAlert {
    /**
     * "BUSINESS", "PHONE_NUMBER", ...
     */
    'entityType'?: (string);
    'entityId'?: (string);
    /**
     * "CRITICAL", "WARNING", "INFORMATIONAL".
     */
    'severity'?: (string);
    /**
     * "ACTIVE", "NONE".
     */
    'status'?: (string);
    /**
     * e.g. "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED", "OBA_APPROVED".
     */
    'type'?: (string);
    'description'?: (string);
}
/**
 * account_alerts: an alert about the business, a number or its limits.
 */
export interface AccountAlert__Output {
    /**
     * "BUSINESS", "PHONE_NUMBER", ...
     */
    'entityType': (string);
    'entityId': (string);
    /**
     * "CRITICAL", "WARNING", "INFORMATIONAL".
     */
    'severity': (string);
    /**
     * "ACTIVE", "NONE".
     */
    'status': (string);
    /**
     * e.g. "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED", "OBA_APPROVED".
     */
    'type': (string);
    'description': (string);
}
