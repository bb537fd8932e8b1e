export interface TemplateParameter {
    /**
     * "text", "payload", "currency", "date_time", "image", "document", "video", ...
     */
    'type'?: (string);
    'text'?: (string);
    'payload'?: (string);
    /**
     * Named parameters (templates created with named placeholders).
     */
    'parameterName'?: (string);
    /**
     * Any other parameter object as raw JSON, merged into the parameter
     * (e.g. {"image": {"link": "https://..."}}).
     */
    'json'?: (string);
}
export interface TemplateParameter__Output {
    /**
     * "text", "payload", "currency", "date_time", "image", "document", "video", ...
     */
    'type': (string);
    'text': (string);
    'payload': (string);
    /**
     * Named parameters (templates created with named placeholders).
     */
    'parameterName': (string);
    /**
     * Any other parameter object as raw JSON, merged into the parameter
     * (e.g. {"image": {"link": "https://..."}}).
     */
    'json': (string);
}
