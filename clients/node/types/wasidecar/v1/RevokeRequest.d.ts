import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
export interface RevokeRequest {
    'phoneNumber'?: (string);
    /**
     * Empty = all categories.
     */
    'categories'?: (_wasidecar_v1_Category)[];
    'source'?: (string);
    'reason'?: (string);
}
export interface RevokeRequest__Output {
    'phoneNumber': (string);
    /**
     * Empty = all categories.
     */
    'categories': (_wasidecar_v1_Category__Output)[];
    'source': (string);
    'reason': (string);
}
