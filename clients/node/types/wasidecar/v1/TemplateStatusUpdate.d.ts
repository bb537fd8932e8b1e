import type { Long } from '@grpc/proto-loader';
/**
 * message_template_status_update: a template was approved, rejected, paused,
 * disabled, flagged, reinstated ... Counted in
 * wa_sidecar_template_status_updates_total{event,category} and, for APPROVED and
 * REJECTED, in the template approval rate (`wa-sidecar kpis`).
 */
export interface TemplateStatusUpdate {
    /**
     * message_template_id.
     */
    'templateId'?: (string);
    'name'?: (string);
    /**
     * message_template_language, e.g. "en_US".
     */
    'language'?: (string);
    /**
     * "APPROVED", "REJECTED", "PAUSED", "DISABLED", "FLAGGED", "REINSTATED", ...
     */
    'event'?: (string);
    /**
     * Rejection reason ("INVALID_FORMAT", "PROMOTIONAL", ...); "NONE" or empty otherwise.
     */
    'reason'?: (string);
    /**
     * message_template_category: "MARKETING", "UTILITY", "AUTHENTICATION"; may be empty.
     */
    'category'?: (string);
    /**
     * other_info.title of a pause ("FIRST_PAUSE", "UNPAUSE", ...) or rejection_info.reason.
     */
    'title'?: (string);
    /**
     * other_info.description or rejection_info.recommendation.
     */
    'description'?: (string);
    /**
     * disable_info.disable_date, Unix seconds; 0 if absent.
     */
    'disableDate'?: (number | string | Long);
}
/**
 * message_template_status_update: a template was approved, rejected, paused,
 * disabled, flagged, reinstated ... Counted in
 * wa_sidecar_template_status_updates_total{event,category} and, for APPROVED and
 * REJECTED, in the template approval rate (`wa-sidecar kpis`).
 */
export interface TemplateStatusUpdate__Output {
    /**
     * message_template_id.
     */
    'templateId': (string);
    'name': (string);
    /**
     * message_template_language, e.g. "en_US".
     */
    'language': (string);
    /**
     * "APPROVED", "REJECTED", "PAUSED", "DISABLED", "FLAGGED", "REINSTATED", ...
     */
    'event': (string);
    /**
     * Rejection reason ("INVALID_FORMAT", "PROMOTIONAL", ...); "NONE" or empty otherwise.
     */
    'reason': (string);
    /**
     * message_template_category: "MARKETING", "UTILITY", "AUTHENTICATION"; may be empty.
     */
    'category': (string);
    /**
     * other_info.title of a pause ("FIRST_PAUSE", "UNPAUSE", ...) or rejection_info.reason.
     */
    'title': (string);
    /**
     * other_info.description or rejection_info.recommendation.
     */
    'description': (string);
    /**
     * disable_info.disable_date, Unix seconds; 0 if absent.
     */
    'disableDate': (number);
}
