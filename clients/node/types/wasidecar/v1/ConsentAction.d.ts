export declare const ConsentAction: {
    readonly CONSENT_ACTION_UNSPECIFIED: 'CONSENT_ACTION_UNSPECIFIED';
    readonly CONSENT_ACTION_GRANT: 'CONSENT_ACTION_GRANT';
    readonly CONSENT_ACTION_REVOKE: 'CONSENT_ACTION_REVOKE';
};
export type ConsentAction = 'CONSENT_ACTION_UNSPECIFIED' | 0 | 'CONSENT_ACTION_GRANT' | 1 | 'CONSENT_ACTION_REVOKE' | 2;
export type ConsentAction__Output = typeof ConsentAction[keyof typeof ConsentAction];
