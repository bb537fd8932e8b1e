import type { Rejection as _wasidecar_v1_Rejection, Rejection__Output as _wasidecar_v1_Rejection__Output } from '../../wasidecar/v1/Rejection';
import type { Event as _wasidecar_v1_Event, Event__Output as _wasidecar_v1_Event__Output } from '../../wasidecar/v1/Event';
export interface WebhookResult {
    'valid'?: (boolean);
    'reason'?: (_wasidecar_v1_Rejection);
    /**
     * True when every event in the delivery was already processed.
     */
    'duplicate'?: (boolean);
    /**
     * New (not duplicate) events, in delivery order.
     */
    'events'?: (_wasidecar_v1_Event)[];
    /**
     * Explanation of a rejection; never contains a secret.
     */
    'detail'?: (string);
    /**
     * Events in the delivery that were already processed.
     */
    'duplicateEvents'?: (number);
}
export interface WebhookResult__Output {
    'valid': (boolean);
    'reason': (_wasidecar_v1_Rejection__Output);
    /**
     * True when every event in the delivery was already processed.
     */
    'duplicate': (boolean);
    /**
     * New (not duplicate) events, in delivery order.
     */
    'events': (_wasidecar_v1_Event__Output)[];
    /**
     * Explanation of a rejection; never contains a secret.
     */
    'detail': (string);
    /**
     * Events in the delivery that were already processed.
     */
    'duplicateEvents': (number);
}
