"""``Settings`` → the typed knobs each service reads, for ``app.py``.

Services never import ``sidecar.config``: they take these small frozen
settings, so a unit test builds one by hand and the composition root builds
it here, once, from the validated settings.

    sender = Sender(deps, send_settings(settings))
    handler = WebhookHandler(deps, webhook_settings(settings))
"""

from __future__ import annotations

from sidecar.config import Settings
from sidecar.policy.buttons import ButtonRules
from sidecar.policy.consent import ConsentRules
from sidecar.policy.inbound import InboundRules
from sidecar.policy.optout import OptOutMatcher
from sidecar.policy.retry import RetryPolicy
from sidecar.policy.types import Category
from sidecar.service.campaign import CampaignSettings
from sidecar.service.capacity import CapacitySettings
from sidecar.service.insights import InsightsSettings
from sidecar.service.send import SendSettings
from sidecar.service.webhooks import WebhookSettings


def send_settings(s: Settings) -> SendSettings:
    return SendSettings(
        rate=s.send_rate,
        burst=s.effective_send_burst,
        max_wait=s.send_max_wait,
        pair_rate=1.0 / s.pair_interval,
        pair_burst=float(s.pair_burst),
        window_seconds=s.service_window_hours * 3600.0,
        rules=ConsentRules(
            require_authentication=s.require_consent_authentication,
            require_service=s.require_consent_service,
        ),
        retry=RetryPolicy(
            max_retries=s.retry_max,
            base_delay=s.retry_base_delay,
            max_delay=s.retry_max_delay,
        ),
        messaging_limit=s.messaging_limit,
        quota_fail_open=s.effective_quota_fail_mode == "open",
        fail_open_fraction=s.quota_fail_open_fraction,
        quota_shadow=s.quota_shadow_mode,
        resend_after=s.ambiguous_resend_after,
        wire_slots=s.graph_pool_size,
        burst_follows_rate=s.send_burst == 0,
        red_marketing_share=s.red_quality_marketing_share,
    )


def capacity_settings(s: Settings) -> CapacitySettings:
    """How the send rate and the tier cap follow the account (``service/capacity.py``)."""
    return CapacitySettings(
        interval=s.capacity_refresh_interval,
        rate_pinned=s.pinned("send_rate"),
        limit_pinned=s.pinned("messaging_limit"),
        phone_number_id=s.phone_number_id,
    )


def webhook_settings(s: Settings) -> WebhookSettings:
    return WebhookSettings(
        max_body=s.webhook_max_body,
        dedup_ttl=s.dedup_ttl,
        honour_opt_in=s.honour_opt_in_keywords,
        window_seconds=s.service_window_hours * 3600.0,
    )


def campaign_settings(s: Settings) -> CampaignSettings:
    """The pacing of ``SendBatch`` streams and of the outbox dispatcher."""
    return CampaignSettings(s.batch_chunk_size, s.batch_chunk_interval, s.batch_max_in_flight)


def webhook_rate_limit(s: Settings) -> tuple[int, float] | None:
    """``(deliveries, per seconds)`` of the per-source webhook limit; None when off."""
    if not s.webhook_rate_limit:
        return None
    from limits import parse  # the notation only; counting is the quota store's

    item = parse(s.webhook_rate_limit)
    return item.amount, float(item.get_expiry())


def inbound_rules(s: Settings) -> InboundRules:
    """Keyword packs, button payloads and button categories, as configured."""
    categories = (Category[name.upper()] for name in s.opt_out_button_categories)
    return InboundRules(
        OptOutMatcher(locales=s.opt_out_locales, extra_opt_out=s.opt_out_keywords),
        ButtonRules(s.opt_out_button_payloads),
        tuple(dict.fromkeys(categories)),
    )


def insights_settings(s: Settings) -> InsightsSettings | None:
    """The pull of Meta's analytics; None when no WABA id is configured."""
    if not s.waba_id:
        return None
    return InsightsSettings(s.waba_id, s.insights_interval, s.insights_calls_per_hour)
