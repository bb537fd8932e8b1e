export interface TemplateLanguage {
    /**
     * BCP-47-like code Meta uses, e.g. "en_US".
     */
    'code'?: (string);
    /**
     * "deterministic" (Meta's only value); empty means deterministic.
     */
    'policy'?: (string);
}
export interface TemplateLanguage__Output {
    /**
     * BCP-47-like code Meta uses, e.g. "en_US".
     */
    'code': (string);
    /**
     * "deterministic" (Meta's only value); empty means deterministic.
     */
    'policy': (string);
}
