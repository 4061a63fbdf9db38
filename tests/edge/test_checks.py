"""Boot-time checks of the edge policies' places in GATEWAY_POLICIES."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from edge.checks import AUTH, CONSUMER_IP_LISTS, CORS, IP_LISTS, REQUEST, RESPONSE, check_edge_policies

AUDIT, BODY, RATE = (
    "compliance.policies.AuditPolicy",
    "proxy.policies.BodyLimitPolicy",
    "ratelimit.policies.RateLimitPolicy",
)


def ids() -> list[str]:
    return [m.id for m in check_edge_policies() if m.id]


def test_the_default_chain_passes_in_the_documented_order() -> None:
    assert ids() == []
    documented = [AUDIT, RESPONSE, IP_LISTS, CORS, BODY, AUTH, CONSUMER_IP_LISTS, RATE, REQUEST]
    # Other apps' policies (the response cache) may sit between them; these keep their order.
    assert [p for p in settings.GATEWAY_POLICIES if p in documented] == documented


@override_settings(GATEWAY_POLICIES=[AUDIT, BODY, AUTH, RATE])
def test_a_chain_without_them_is_a_warning() -> None:
    assert ids() == ["edge.W001"]


@override_settings(GATEWAY_POLICIES=[AUDIT, RESPONSE, BODY, AUTH, IP_LISTS, CORS, CONSUMER_IP_LISTS, RATE, REQUEST])
def test_ip_lists_or_cors_after_auth_are_errors() -> None:
    assert ids() == ["edge.E001", "edge.E002"]


@override_settings(GATEWAY_POLICIES=[AUDIT, RESPONSE, IP_LISTS, CORS, CONSUMER_IP_LISTS, REQUEST, BODY, AUTH, RATE])
def test_steps_that_need_the_caller_before_auth_are_errors() -> None:
    assert ids() == ["edge.E003", "edge.E004"]


@override_settings(GATEWAY_POLICIES=[AUDIT, IP_LISTS, CORS, RESPONSE, BODY, AUTH, CONSUMER_IP_LISTS, RATE, REQUEST])
def test_response_headers_inside_a_refusing_step_are_a_warning() -> None:
    assert ids() == ["edge.W002"]
