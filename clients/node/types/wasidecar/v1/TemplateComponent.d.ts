import type { TemplateParameter as _wasidecar_v1_TemplateParameter, TemplateParameter__Output as _wasidecar_v1_TemplateParameter__Output } from '../../wasidecar/v1/TemplateParameter';
export interface TemplateComponent {
    /**
     * "header", "body", "button", "footer".
     */
    'type'?: (string);
    /**
     * For buttons: "quick_reply", "url", ...
     */
    'subType'?: (string);
    /**
     * For buttons: position, 0-based.
     */
    'index'?: (number);
    'parameters'?: (_wasidecar_v1_TemplateParameter)[];
}
export interface TemplateComponent__Output {
    /**
     * "header", "body", "button", "footer".
     */
    'type': (string);
    /**
     * For buttons: "quick_reply", "url", ...
     */
    'subType': (string);
    /**
     * For buttons: position, 0-based.
     */
    'index': (number);
    'parameters': (_wasidecar_v1_TemplateParameter__Output)[];
}
