import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { TextBody as _wasidecar_v1_TextBody, TextBody__Output as _wasidecar_v1_TextBody__Output } from '../../wasidecar/v1/TextBody';
import type { Template as _wasidecar_v1_Template, Template__Output as _wasidecar_v1_Template__Output } from '../../wasidecar/v1/Template';
export interface SendRequest {
    /**
     * Required for SendBatch and Enqueue, optional for Send. Repeats with the
     * same content return the stored outcome; different content is
     * FAILED_PRECONDITION.
     */
    'idempotencyKey'?: (string);
    /**
     * E.164, with the leading "+".
     */
    'to'?: (string);
    'category'?: (_wasidecar_v1_Category);
    /**
     * Exactly one of text, template, message_json.
     */
    'text'?: (_wasidecar_v1_TextBody | null);
    'template'?: (_wasidecar_v1_Template | null);
    /**
     * A raw Graph message object ({"type": "interactive", ...}), passed through.
     */
    'messageJson'?: (string);
    /**
     * Business phone number id; defaults to WA_SIDECAR_PHONE_NUMBER_ID.
     */
    'phoneNumberId'?: (string);
    /**
     * Free-form labels, kept with the message record (not metric labels).
     */
    'tags'?: ({
        [key: string]: string;
    });
    /**
     * Decide and validate only: no quota taken, nothing sent.
     */
    'dryRun'?: (boolean);
}
export interface SendRequest__Output {
    /**
     * Required for SendBatch and Enqueue, optional for Send. Repeats with the
     * same content return the stored outcome; different content is
     * FAILED_PRECONDITION.
     */
    'idempotencyKey': (string);
    /**
     * E.164, with the leading "+".
     */
    'to': (string);
    'category': (_wasidecar_v1_Category__Output);
    /**
     * Exactly one of text, template, message_json.
     */
    'text': (_wasidecar_v1_TextBody__Output | null);
    'template': (_wasidecar_v1_Template__Output | null);
    /**
     * A raw Graph message object ({"type": "interactive", ...}), passed through.
     */
    'messageJson': (string);
    /**
     * Business phone number id; defaults to WA_SIDECAR_PHONE_NUMBER_ID.
     */
    'phoneNumberId': (string);
    /**
     * Free-form labels, kept with the message record (not metric labels).
     */
    'tags': ({
        [key: string]: string;
    });
    /**
     * Decide and validate only: no quota taken, nothing sent.
     */
    'dryRun': (boolean);
}
