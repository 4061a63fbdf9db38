"""Boot-time checks of the realtime settings."""

from __future__ import annotations

from django.test import override_settings

from realtime.checks import check_realtime_settings


def ids() -> list[str]:
    return [message.id or "" for message in check_realtime_settings()]


def test_the_defaults_pass() -> None:
    assert ids() == []


def test_a_malformed_origin_or_publisher_role_is_an_error() -> None:
    with override_settings(GATEWAY_REALTIME_ORIGINS=["app.example.com"]):
        assert "realtime.E001" in ids()
    with override_settings(GATEWAY_REALTIME_PUBLISHER_ROLE="not a role"):
        assert "realtime.E002" in ids()
    with override_settings(GATEWAY_REALTIME_PUBLISHER_ROLE=""):
        assert "realtime.E003" in ids()


def test_a_message_limit_above_uvicorns_is_a_warning() -> None:
    with override_settings(GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES=32 * 1024 * 1024):
        assert ids() == ["realtime.W002"]
