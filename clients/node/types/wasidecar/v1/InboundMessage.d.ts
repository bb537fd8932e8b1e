import type { Long } from '@grpc/proto-loader';
export interface InboundMessage {
    'fromNumber'?: (string);
    /**
     * The wamid.
     */
    'id'?: (string);
    /**
     * Unix seconds.
     */
    'timestamp'?: (number | string | Long);
    /**
     * "text", "button", "interactive", "image", ...
     */
    'type'?: (string);
    'text'?: (string);
    /**
     * Template quick-reply payload, or the interactive reply id.
     */
    'buttonPayload'?: (string);
    'phoneNumberId'?: (string);
    /**
     * The message was an opt-out and consent was updated before this answer.
     */
    'optOut'?: (boolean);
    /**
     * The message was an opt-in (START/UNSTOP) honoured by config.
     */
    'optIn'?: (boolean);
    'displayPhoneNumber'?: (string);
    /**
     * The wamid this message replies to (context.id).
     */
    'contextId'?: (string);
    'contactName'?: (string);
    /**
     * Interactive reply title, or the template button text.
     */
    'buttonText'?: (string);
}
export interface InboundMessage__Output {
    'fromNumber': (string);
    /**
     * The wamid.
     */
    'id': (string);
    /**
     * Unix seconds.
     */
    'timestamp': (number);
    /**
     * "text", "button", "interactive", "image", ...
     */
    'type': (string);
    'text': (string);
    /**
     * Template quick-reply payload, or the interactive reply id.
     */
    'buttonPayload': (string);
    'phoneNumberId': (string);
    /**
     * The message was an opt-out and consent was updated before this answer.
     */
    'optOut': (boolean);
    /**
     * The message was an opt-in (START/UNSTOP) honoured by config.
     */
    'optIn': (boolean);
    'displayPhoneNumber': (string);
    /**
     * The wamid this message replies to (context.id).
     */
    'contextId': (string);
    'contactName': (string);
    /**
     * Interactive reply title, or the template button text.
     */
    'buttonText': (string);
}
