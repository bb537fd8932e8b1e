import type { Long } from '@grpc/proto-loader';
export interface PreferenceUpdate {
    'waId'?: (string);
    /**
     * "marketing_messages".
     */
    'category'?: (string);
    /**
     * "stop" or "resume".
     */
    'value'?: (string);
    'timestamp'?: (number | string | Long);
    'detail'?: (string);
    'phoneNumberId'?: (string);
    'optOut'?: (boolean);
    'optIn'?: (boolean);
}
export interface PreferenceUpdate__Output {
    'waId': (string);
    /**
     * "marketing_messages".
     */
    'category': (string);
    /**
     * "stop" or "resume".
     */
    'value': (string);
    'timestamp': (number);
    'detail': (string);
    'phoneNumberId': (string);
    'optOut': (boolean);
    'optIn': (boolean);
}
