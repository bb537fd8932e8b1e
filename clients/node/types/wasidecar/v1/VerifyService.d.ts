import type { MethodDefinition } from '@grpc/proto-loader';
import type { Event as _wasidecar_v1_Event, Event__Output as _wasidecar_v1_Event__Output } from '../../wasidecar/v1/Event';
import type { StreamEventsRequest as _wasidecar_v1_StreamEventsRequest, StreamEventsRequest__Output as _wasidecar_v1_StreamEventsRequest__Output } from '../../wasidecar/v1/StreamEventsRequest';
import type { SubscriptionRequest as _wasidecar_v1_SubscriptionRequest, SubscriptionRequest__Output as _wasidecar_v1_SubscriptionRequest__Output } from '../../wasidecar/v1/SubscriptionRequest';
import type { SubscriptionResult as _wasidecar_v1_SubscriptionResult, SubscriptionResult__Output as _wasidecar_v1_SubscriptionResult__Output } from '../../wasidecar/v1/SubscriptionResult';
import type { WebhookRequest as _wasidecar_v1_WebhookRequest, WebhookRequest__Output as _wasidecar_v1_WebhookRequest__Output } from '../../wasidecar/v1/WebhookRequest';
import type { WebhookResult as _wasidecar_v1_WebhookResult, WebhookResult__Output as _wasidecar_v1_WebhookResult__Output } from '../../wasidecar/v1/WebhookResult';
export interface VerifyServiceDefinition {
    StreamEvents: MethodDefinition<_wasidecar_v1_StreamEventsRequest, _wasidecar_v1_Event, _wasidecar_v1_StreamEventsRequest__Output, _wasidecar_v1_Event__Output>;
    VerifySubscription: MethodDefinition<_wasidecar_v1_SubscriptionRequest, _wasidecar_v1_SubscriptionResult, _wasidecar_v1_SubscriptionRequest__Output, _wasidecar_v1_SubscriptionResult__Output>;
    VerifyWebhook: MethodDefinition<_wasidecar_v1_WebhookRequest, _wasidecar_v1_WebhookResult, _wasidecar_v1_WebhookRequest__Output, _wasidecar_v1_WebhookResult__Output>;
}
