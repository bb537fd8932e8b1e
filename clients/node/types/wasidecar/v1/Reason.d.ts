/**
 * Why a policy decision refused (or would refuse) a send.
 */
export declare const Reason: {
    /**
     * Allowed, or no reason given.
     */
    readonly REASON_UNSPECIFIED: 'REASON_UNSPECIFIED';
    /**
     * MARKETING/UTILITY send with no recorded opt-in for that category.
     */
    readonly REASON_NO_CONSENT: 'REASON_NO_CONSENT';
    /**
     * The recipient opted out (keyword, button, user_preferences, 131050).
     */
    readonly REASON_OPTED_OUT: 'REASON_OPTED_OUT';
    /**
     * Free-form message outside the 24-hour customer service window.
     */
    readonly REASON_OUTSIDE_SERVICE_WINDOW: 'REASON_OUTSIDE_SERVICE_WINDOW';
    /**
     * The per-number token bucket had no token before the deadline.
     */
    readonly REASON_QUOTA_EXHAUSTED: 'REASON_QUOTA_EXHAUSTED';
    /**
     * The per-recipient pair limit (Meta 131056) would be exceeded.
     */
    readonly REASON_PAIR_RATE_LIMITED: 'REASON_PAIR_RATE_LIMITED';
    /**
     * `to` is not a valid E.164 number.
     */
    readonly REASON_INVALID_NUMBER: 'REASON_INVALID_NUMBER';
    /**
     * The calling principal may not send this category.
     */
    readonly REASON_PERMISSION_DENIED: 'REASON_PERMISSION_DENIED';
    /**
     * The rolling 24-hour unique-recipient cap (messaging tier) is reached.
     */
    readonly REASON_MESSAGING_LIMIT_REACHED: 'REASON_MESSAGING_LIMIT_REACHED';
    /**
     * A store needed for the decision is unavailable; the check fails closed.
     */
    readonly REASON_STORE_UNAVAILABLE: 'REASON_STORE_UNAVAILABLE';
    /**
     * The external number validator says the number cannot receive WhatsApp.
     */
    readonly REASON_NUMBER_NOT_ON_WHATSAPP: 'REASON_NUMBER_NOT_ON_WHATSAPP';
    /**
     * One request of a SendBatch stream was invalid; detail names the field.
     */
    readonly REASON_INVALID_REQUEST: 'REASON_INVALID_REQUEST';
};
/**
 * Why a policy decision refused (or would refuse) a send.
 */
export type Reason = 
/**
 * Allowed, or no reason given.
 */
'REASON_UNSPECIFIED' | 0
/**
 * MARKETING/UTILITY send with no recorded opt-in for that category.
 */
 | 'REASON_NO_CONSENT' | 1
/**
 * The recipient opted out (keyword, button, user_preferences, 131050).
 */
 | 'REASON_OPTED_OUT' | 2
/**
 * Free-form message outside the 24-hour customer service window.
 */
 | 'REASON_OUTSIDE_SERVICE_WINDOW' | 3
/**
 * The per-number token bucket had no token before the deadline.
 */
 | 'REASON_QUOTA_EXHAUSTED' | 4
/**
 * The per-recipient pair limit (Meta 131056) would be exceeded.
 */
 | 'REASON_PAIR_RATE_LIMITED' | 5
/**
 * `to` is not a valid E.164 number.
 */
 | 'REASON_INVALID_NUMBER' | 6
/**
 * The calling principal may not send this category.
 */
 | 'REASON_PERMISSION_DENIED' | 7
/**
 * The rolling 24-hour unique-recipient cap (messaging tier) is reached.
 */
 | 'REASON_MESSAGING_LIMIT_REACHED' | 8
/**
 * A store needed for the decision is unavailable; the check fails closed.
 */
 | 'REASON_STORE_UNAVAILABLE' | 9
/**
 * The external number validator says the number cannot receive WhatsApp.
 */
 | 'REASON_NUMBER_NOT_ON_WHATSAPP' | 10
/**
 * One request of a SendBatch stream was invalid; detail names the field.
 */
 | 'REASON_INVALID_REQUEST' | 11;
/**
 * Why a policy decision refused (or would refuse) a send.
 */
export type Reason__Output = typeof Reason[keyof typeof Reason];
