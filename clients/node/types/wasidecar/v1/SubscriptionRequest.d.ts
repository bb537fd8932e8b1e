export interface SubscriptionRequest {
    /**
     * hub.mode; must be "subscribe".
     */
    'mode'?: (string);
    /**
     * hub.verify_token.
     */
    'verifyToken'?: (string);
    /**
     * hub.challenge, echoed back on success.
     */
    'challenge'?: (string);
}
export interface SubscriptionRequest__Output {
    /**
     * hub.mode; must be "subscribe".
     */
    'mode': (string);
    /**
     * hub.verify_token.
     */
    'verifyToken': (string);
    /**
     * hub.challenge, echoed back on success.
     */
    'challenge': (string);
}
