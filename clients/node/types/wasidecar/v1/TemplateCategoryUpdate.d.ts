import type { Long } from '@grpc/proto-loader';
/**
 * template_category_update: a template's category changed, or will change.
 */
export interface TemplateCategoryUpdate {
    'templateId'?: (string);
    'name'?: (string);
    'language'?: (string);
    /**
     * A completed change: previous_category -> new_category.
     */
    'previousCategory'?: (string);
    'newCategory'?: (string);
    /**
     * An impending change: the category it will get, effective at effective_at.
     */
    'correctCategory'?: (string);
    'effectiveAt'?: (number | string | Long);
}
/**
 * template_category_update: a template's category changed, or will change.
 */
export interface TemplateCategoryUpdate__Output {
    'templateId': (string);
    'name': (string);
    'language': (string);
    /**
     * A completed change: previous_category -> new_category.
     */
    'previousCategory': (string);
    'newCategory': (string);
    /**
     * An impending change: the category it will get, effective at effective_at.
     */
    'correctCategory': (string);
    'effectiveAt': (number);
}
