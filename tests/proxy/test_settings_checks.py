"""Boot-time checks of the edge and listener settings (proxy/checks.py)."""

from __future__ import annotations

from django.test import override_settings

from proxy.checks import check_edge_limits, check_listeners


def ids() -> list[str]:
    return [m.id for m in [*check_edge_limits(), *check_listeners()] if m.id]


def test_the_default_settings_pass() -> None:
    assert ids() == []


@override_settings(GATEWAY_MAX_HEADER_BYTES=4096, GATEWAY_MAX_HEADER_FIELD_BYTES=4096, GATEWAY_MAX_URI_BYTES=8192)
def test_a_cap_the_whole_heads_cap_makes_useless_is_a_warning() -> None:
    assert ids() == ["gateway.W004"]


@override_settings(GATEWAY_BODY_DEADLINE=86400.0)
def test_a_total_body_deadline_of_a_day_is_a_warning() -> None:
    assert ids() == ["gateway.W005"]


@override_settings(GATEWAY_PUBLIC_PATHS=["/health", "ready"])
def test_a_public_path_that_is_not_a_path_is_an_error() -> None:
    assert ids() == ["gateway.E005"]


@override_settings(GATEWAY_ADMIN_PORT=9000, GATEWAY_PUBLIC_PATHS=["/health", "/admin"])
def test_the_admin_among_the_public_paths_of_a_split_gateway_is_a_warning() -> None:
    assert ids() == ["gateway.W006"]


@override_settings(GATEWAY_ADMIN_IDLE_TIMEOUT=86400)
def test_an_admin_session_idle_for_a_day_is_a_warning() -> None:
    assert ids() == ["gateway.W007"]
