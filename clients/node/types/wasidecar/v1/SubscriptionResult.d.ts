export interface SubscriptionResult {
    'ok'?: (boolean);
    'challenge'?: (string);
}
export interface SubscriptionResult__Output {
    'ok': (boolean);
    'challenge': (string);
}
