import type { CategoryConsent as _wasidecar_v1_CategoryConsent, CategoryConsent__Output as _wasidecar_v1_CategoryConsent__Output } from '../../wasidecar/v1/CategoryConsent';
import type { ConsentEvent as _wasidecar_v1_ConsentEvent, ConsentEvent__Output as _wasidecar_v1_ConsentEvent__Output } from '../../wasidecar/v1/ConsentEvent';
export interface ConsentState {
    /**
     * Keyed blind index of the number (hex); never the number itself.
     */
    'subjectIndex'?: (string);
    'categories'?: (_wasidecar_v1_CategoryConsent)[];
    /**
     * Append-only history, oldest first.
     */
    'history'?: (_wasidecar_v1_ConsentEvent)[];
    /**
     * On the suppression list (opted out of everything, or erased after an opt-out).
     */
    'suppressed'?: (boolean);
    /**
     * Grant only: the user's own opt-out still suppresses a granted category.
     * The grant is recorded as proof; only the user (an opt-in keyword where
     * allowed, Meta's resume) or an approved OverrideSuppression lifts it.
     */
    'suppressionStands'?: (boolean);
    /**
     * Which categories stay suppressed and why (empty unless suppression_stands).
     */
    'suppressionDetail'?: (string);
}
export interface ConsentState__Output {
    /**
     * Keyed blind index of the number (hex); never the number itself.
     */
    'subjectIndex': (string);
    'categories': (_wasidecar_v1_CategoryConsent__Output)[];
    /**
     * Append-only history, oldest first.
     */
    'history': (_wasidecar_v1_ConsentEvent__Output)[];
    /**
     * On the suppression list (opted out of everything, or erased after an opt-out).
     */
    'suppressed': (boolean);
    /**
     * Grant only: the user's own opt-out still suppresses a granted category.
     * The grant is recorded as proof; only the user (an opt-in keyword where
     * allowed, Meta's resume) or an approved OverrideSuppression lifts it.
     */
    'suppressionStands': (boolean);
    /**
     * Which categories stay suppressed and why (empty unless suppression_stands).
     */
    'suppressionDetail': (string);
}
