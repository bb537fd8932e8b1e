export declare const Jurisdiction: {
    readonly JURISDICTION_UNSPECIFIED: 'JURISDICTION_UNSPECIFIED';
    readonly JURISDICTION_GDPR: 'JURISDICTION_GDPR';
    readonly JURISDICTION_CCPA: 'JURISDICTION_CCPA';
    readonly JURISDICTION_PDPA: 'JURISDICTION_PDPA';
    readonly JURISDICTION_OTHER: 'JURISDICTION_OTHER';
};
export type Jurisdiction = 'JURISDICTION_UNSPECIFIED' | 0 | 'JURISDICTION_GDPR' | 1 | 'JURISDICTION_CCPA' | 2 | 'JURISDICTION_PDPA' | 3 | 'JURISDICTION_OTHER' | 4;
export type Jurisdiction__Output = typeof Jurisdiction[keyof typeof Jurisdiction];
