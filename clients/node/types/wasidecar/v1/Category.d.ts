/**
 * Meta's message categories (pricing and consent follow them).
 */
export declare const Category: {
    readonly CATEGORY_UNSPECIFIED: 'CATEGORY_UNSPECIFIED';
    readonly CATEGORY_MARKETING: 'CATEGORY_MARKETING';
    readonly CATEGORY_UTILITY: 'CATEGORY_UTILITY';
    readonly CATEGORY_AUTHENTICATION: 'CATEGORY_AUTHENTICATION';
    readonly CATEGORY_SERVICE: 'CATEGORY_SERVICE';
};
/**
 * Meta's message categories (pricing and consent follow them).
 */
export type Category = 'CATEGORY_UNSPECIFIED' | 0 | 'CATEGORY_MARKETING' | 1 | 'CATEGORY_UTILITY' | 2 | 'CATEGORY_AUTHENTICATION' | 3 | 'CATEGORY_SERVICE' | 4;
/**
 * Meta's message categories (pricing and consent follow them).
 */
export type Category__Output = typeof Category[keyof typeof Category];
