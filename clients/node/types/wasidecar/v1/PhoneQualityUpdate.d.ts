/**
 * phone_number_quality_update: a business number's throughput or messaging
 * limit changed. The sidecar reads the number's capacity again at once.
 */
export interface PhoneQualityUpdate {
    /**
     * The business's display number (Meta names no phone_number_id here).
     */
    'displayPhoneNumber'?: (string);
    /**
     * "THROUGHPUT_UPGRADE", "ONBOARDING", and on older versions "UPGRADE", "DOWNGRADE",
     * "FLAGGED", "UNFLAGGED".
     */
    'event'?: (string);
    /**
     * current_limit / old_limit, e.g. "TIER_UNLIMITED", "TIER_2K" (being retired by Meta).
     */
    'currentLimit'?: (string);
    'oldLimit'?: (string);
    /**
     * max_daily_conversations_per_business: the portfolio's messaging limit tier.
     */
    'maxDaily'?: (string);
}
/**
 * phone_number_quality_update: a business number's throughput or messaging
 * limit changed. The sidecar reads the number's capacity again at once.
 */
export interface PhoneQualityUpdate__Output {
    /**
     * The business's display number (Meta names no phone_number_id here).
     */
    'displayPhoneNumber': (string);
    /**
     * "THROUGHPUT_UPGRADE", "ONBOARDING", and on older versions "UPGRADE", "DOWNGRADE",
     * "FLAGGED", "UNFLAGGED".
     */
    'event': (string);
    /**
     * current_limit / old_limit, e.g. "TIER_UNLIMITED", "TIER_2K" (being retired by Meta).
     */
    'currentLimit': (string);
    'oldLimit': (string);
    /**
     * max_daily_conversations_per_business: the portfolio's messaging limit tier.
     */
    'maxDaily': (string);
}
