import type { Long } from '@grpc/proto-loader';
/**
 * business_capability_update: the portfolio's messaging limit and number caps.
 * The sidecar reads its capacity again at once. -1 is unlimited, 0 absent.
 */
export interface CapabilityUpdate {
    'maxDailyPerBusiness'?: (number | string | Long);
    'maxDailyPerPhone'?: (number | string | Long);
    'maxPhoneNumbersPerBusiness'?: (number | string | Long);
    'maxPhoneNumbersPerWaba'?: (number | string | Long);
}
/**
 * business_capability_update: the portfolio's messaging limit and number caps.
 * The sidecar reads its capacity again at once. -1 is unlimited, 0 absent.
 */
export interface CapabilityUpdate__Output {
    'maxDailyPerBusiness': (number);
    'maxDailyPerPhone': (number);
    'maxPhoneNumbersPerBusiness': (number);
    'maxPhoneNumbersPerWaba': (number);
}
