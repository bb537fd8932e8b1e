import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { Jurisdiction as _wasidecar_v1_Jurisdiction, Jurisdiction__Output as _wasidecar_v1_Jurisdiction__Output } from '../../wasidecar/v1/Jurisdiction';
export interface GrantRequest {
    'phoneNumber'?: (string);
    'categories'?: (_wasidecar_v1_Category)[];
    /**
     * Where the opt-in came from: "web-form", "whatsapp-thread", "ivr", ...
     */
    'source'?: (string);
    /**
     * Version of the text shown to the user.
     */
    'noticeVersion'?: (string);
    'jurisdiction'?: (_wasidecar_v1_Jurisdiction);
    /**
     * Proof: form submission id, screenshot hash, recording reference, ...
     */
    'evidence'?: (string);
}
export interface GrantRequest__Output {
    'phoneNumber': (string);
    'categories': (_wasidecar_v1_Category__Output)[];
    /**
     * Where the opt-in came from: "web-form", "whatsapp-thread", "ivr", ...
     */
    'source': (string);
    /**
     * Version of the text shown to the user.
     */
    'noticeVersion': (string);
    'jurisdiction': (_wasidecar_v1_Jurisdiction__Output);
    /**
     * Proof: form submission id, screenshot hash, recording reference, ...
     */
    'evidence': (string);
}
