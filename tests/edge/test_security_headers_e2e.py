"""Security response headers through a real gateway process: the recommended profile, custom
headers, HSTS on HTTPS answers only, backend headers removed, and the gateway's own errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from registry.models import Route, Service
from registry.sections import save_with_sections
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess

PROFILE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "permissions-policy": "accelerometer=(), camera=(), geolocation=(), microphone=(), payment=(), usb=()",
}
HTTPS = {"X-Forwarded-Proto": "https"}


def test_the_recommended_profile_sets_each_header_and_strips_the_backends(
    both: ConfigHelper, trusting_gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = both.service("site", [edge_backend])
    both.route(service, "/site", security_headers="recommended")
    both.sync()

    plain = get(trusting_gateway, "/site/noisy")
    secure = get(trusting_gateway, "/site/noisy", HTTPS)

    assert plain.status == 200 and plain.body == b"noisy"
    for name, value in PROFILE.items():
        assert plain.all(name) == [value], name  # the backend's own CSP is replaced, not doubled
    assert not plain.has("server") and not plain.has("x-powered-by")
    assert plain.header("x-backend-secret") == "internal"  # only what the profile names goes
    assert not plain.has("strict-transport-security")  # RFC 6797: never over plain HTTP
    assert secure.header("strict-transport-security") == "max-age=31536000; includeSubDomains"


def test_the_gateways_own_errors_carry_them_too(
    config: ConfigHelper, gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = config.service("site", [edge_backend])
    config.route(service, "/locked", security_headers="recommended", auth_mode=Route.AuthMode.API_KEY)
    dead = config.service("dead", [], security_headers="custom", frame_options="SAMEORIGIN")
    dead_target = BackendThread("gone").start()
    dead_target.stop()  # a port nobody listens on any more
    dead.targets.create(host="127.0.0.1", port=dead_target.port)
    config.route(dead, "/dead")
    config.sync()

    refused = get(gateway, "/locked/x")
    unreachable = get(gateway, "/dead/x")

    assert refused.status == 401 and refused.problem("missing_credentials")
    for name, value in PROFILE.items():
        assert refused.all(name) == [value], name
    assert refused.header("cache-control") == "no-store"
    assert unreachable.status == 502 and unreachable.problem("upstream_unreachable")
    assert unreachable.header("x-frame-options") == "SAMEORIGIN"


def test_custom_sends_only_what_is_filled_in_and_overrides_win_over_the_profile(
    both: ConfigHelper, trusting_gateway: GatewayProcess, edge_backend: BackendThread
) -> None:
    service = both.service("site", [edge_backend], security_headers="recommended")
    both.route(
        service,
        "/custom",
        security_headers="custom",
        hsts_max_age=600,
        content_type_options=True,
        referrer_policy="same-origin",
        hide_server_headers=True,
    )
    both.route(service, "/tuned", security_headers="recommended", content_security_policy="default-src 'self'")
    both.route(service, "/inherits")
    both.route(service, "/none", security_headers="off")
    both.sync()

    custom = get(trusting_gateway, "/custom/noisy", HTTPS)
    tuned = get(trusting_gateway, "/tuned/noisy")
    inherits = get(trusting_gateway, "/inherits/noisy")
    none = get(trusting_gateway, "/none/noisy")

    assert custom.header("strict-transport-security") == "max-age=600"
    assert custom.header("x-content-type-options") == "nosniff"
    assert custom.header("referrer-policy") == "same-origin"
    assert not custom.has("x-frame-options") and not custom.has("permissions-policy")
    assert not custom.has("server") and not custom.has("x-powered-by")
    assert custom.header("content-security-policy") == "default-src *"  # the backend's, untouched
    assert tuned.all("content-security-policy") == ["default-src 'self'"]
    assert tuned.header("x-frame-options") == "DENY"
    assert inherits.header("x-frame-options") == "DENY"  # the service's profile
    assert none.header("server") == "nginx" and not none.has("x-frame-options")  # version stripped by default


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"hsts_max_age": 600, "hsts_include_subdomains": True, "hsts_preload": True}, "hsts_preload", "a year"),
        ({"hsts_max_age": 31536000, "hsts_preload": True}, "hsts_preload", "subdomains"),
        ({"content_security_policy": "default-src 'self'\r\nX-Injected: 1"}, "content_security_policy", "ASCII"),
        ({"permissions_policy": "camera=(\u00e9)"}, "permissions_policy", "ASCII"),
        ({"frame_options": "ALLOW-FROM https://x"}, "frame_options", "not a valid choice"),
    ],
)
def test_bad_security_settings_are_refused_with_the_field_and_the_reason(
    fields: dict[str, object], field: str, reason: str
) -> None:
    service = Service.objects.create(name="Site", slug="site")
    with pytest.raises(ValidationError) as raised:
        save_with_sections(
            Route(), {"service": service, "name": "r", "path_prefix": "/r", "security_headers": "custom", **fields}
        )
    assert reason in " ".join(raised.value.message_dict.get(field, [])), raised.value.message_dict
