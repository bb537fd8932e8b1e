import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
export interface OverrideSuppressionRequest {
    'phoneNumber'?: (string);
    /**
     * Empty = all categories.
     */
    'categories'?: (_wasidecar_v1_Category)[];
    /**
     * Why the user's opt-out is overridden (required; kept out of the audit
     * log, which holds the receipt's digest).
     */
    'reason'?: (string);
}
export interface OverrideSuppressionRequest__Output {
    'phoneNumber': (string);
    /**
     * Empty = all categories.
     */
    'categories': (_wasidecar_v1_Category__Output)[];
    /**
     * Why the user's opt-out is overridden (required; kept out of the audit
     * log, which holds the receipt's digest).
     */
    'reason': (string);
}
