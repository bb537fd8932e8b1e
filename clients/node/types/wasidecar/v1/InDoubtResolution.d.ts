export declare const InDoubtResolution: {
    readonly IN_DOUBT_RESOLUTION_UNSPECIFIED: 'IN_DOUBT_RESOLUTION_UNSPECIFIED';
    /**
     * Meta has the message (WhatsApp Manager shows it, or the user got it):
     * the key answers OUTCOME_SENT, with message_id when given.
     */
    readonly IN_DOUBT_RESOLUTION_SENT: 'IN_DOUBT_RESOLUTION_SENT';
    /**
     * Meta never got it: the key answers OUTCOME_FAILED (error class
     * PERMANENT, not retryable); send again under a new key if still wanted.
     */
    readonly IN_DOUBT_RESOLUTION_NOT_SENT: 'IN_DOUBT_RESOLUTION_NOT_SENT';
};
export type InDoubtResolution = 'IN_DOUBT_RESOLUTION_UNSPECIFIED' | 0
/**
 * Meta has the message (WhatsApp Manager shows it, or the user got it):
 * the key answers OUTCOME_SENT, with message_id when given.
 */
 | 'IN_DOUBT_RESOLUTION_SENT' | 1
/**
 * Meta never got it: the key answers OUTCOME_FAILED (error class
 * PERMANENT, not retryable); send again under a new key if still wanted.
 */
 | 'IN_DOUBT_RESOLUTION_NOT_SENT' | 2;
export type InDoubtResolution__Output = typeof InDoubtResolution[keyof typeof InDoubtResolution];
