"""System checks (``manage.py check``, and at every start) for the gateway's settings."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string


@register()
def check_policies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for path in settings.GATEWAY_POLICIES:
        try:
            factory = import_string(path)
        except ImportError as exc:
            messages.append(
                Error(f"GATEWAY_POLICIES names {path!r}, which cannot be imported: {exc}", id="gateway.E001")
            )
            continue
        if not callable(getattr(factory, "for_route", None)):
            messages.append(
                Error(
                    f"GATEWAY_POLICIES entry {path!r} has no for_route(route, snapshot) method.",
                    hint="Each entry is a policy class with a for_route classmethod; see proxy/policies.py.",
                    id="gateway.E002",
                )
            )
    return messages


@register()
def check_target_gate(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    path = settings.GATEWAY_TARGET_GATE
    if not path:
        return []
    try:
        factory = import_string(path)
    except ImportError as exc:
        return [Error(f"GATEWAY_TARGET_GATE names {path!r}, which cannot be imported: {exc}", id="gateway.E003")]
    if not callable(getattr(factory, "for_service", None)):
        return [
            Error(
                f"GATEWAY_TARGET_GATE {path!r} has no for_service(service, snapshot) method.",
                hint="See the TargetGate protocol in proxy/upstream.py.",
                id="gateway.E004",
            )
        ]
    return []


@register()
def check_auth_policy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if "proxy.auth.policy.AuthPolicy" in settings.GATEWAY_POLICIES:
        return []
    return [
        Warning(
            "GATEWAY_POLICIES has no proxy.auth.policy.AuthPolicy.",
            hint="Routes with authentication settings then answer 503 auth_unavailable (never unauthenticated).",
            id="gateway.W003",
        )
    ]


@register(deploy=True)
def check_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    shared_db = settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
    if shared_db and not settings.REDIS_URL:
        messages.append(
            Warning(
                "DATABASE_URL names a shared database but REDIS_URL is empty.",
                hint="Without Redis, processes learn config changes only by polling and keep their own state.",
                id="gateway.W001",
            )
        )
    if shared_db and not os.environ.get("DJANGO_SECRET_KEY"):
        messages.append(
            Warning(
                "DJANGO_SECRET_KEY is not set; each host generates its own key in GATEWAY_VAR_DIR.",
                hint="Set the same DJANGO_SECRET_KEY on every gateway process.",
                id="gateway.W002",
            )
        )
    return messages


@register()
def check_edge_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    head = settings.GATEWAY_MAX_HEADER_BYTES
    for name in ("GATEWAY_MAX_HEADER_FIELD_BYTES", "GATEWAY_MAX_URI_BYTES"):
        if getattr(settings, name) > head:
            messages.append(
                Warning(
                    f"{name} ({getattr(settings, name)}) is larger than GATEWAY_MAX_HEADER_BYTES ({head}): "
                    "the whole head's cap refuses first, so it never applies.",
                    hint="Keep each of them at most GATEWAY_MAX_HEADER_BYTES.",
                    id="gateway.W004",
                )
            )
    if settings.GATEWAY_BODY_DEADLINE > settings.GATEWAY_BODY_TIMEOUT * 100:
        messages.append(
            Warning(
                f"GATEWAY_BODY_DEADLINE is {settings.GATEWAY_BODY_DEADLINE:g} s: a client can hold a request open "
                "that long by sending a byte now and then.",
                hint="Keep the default total deadline (10 s) and raise it per route (body_timeout) for uploads.",
                id="gateway.W005",
            )
        )
    return messages


@register()
def check_listeners(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    bad = [p for p in settings.GATEWAY_PUBLIC_PATHS if not p.startswith("/")]
    if bad:
        messages.append(
            Error(
                f"GATEWAY_PUBLIC_PATHS entries must be paths starting with '/': {', '.join(bad)}.",
                id="gateway.E005",
            )
        )
    if settings.GATEWAY_ADMIN_PORT and any(p.rstrip("/") in ("", "/admin") for p in settings.GATEWAY_PUBLIC_PATHS):
        messages.append(
            Warning(
                "GATEWAY_PUBLIC_PATHS puts the admin back on the public port although an admin listener is set.",
                hint="Leave /admin (and /) out of GATEWAY_PUBLIC_PATHS.",
                id="gateway.W006",
            )
        )
    if settings.GATEWAY_ADMIN_IDLE_TIMEOUT > 12 * 3600:
        messages.append(
            Warning(
                f"GATEWAY_ADMIN_IDLE_TIMEOUT is {settings.GATEWAY_ADMIN_IDLE_TIMEOUT} s: an abandoned admin session "
                "stays usable for more than 12 hours.",
                hint="The default is 900 (15 minutes).",
                id="gateway.W007",
            )
        )
    return messages


@register()
def check_upstream_tls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The upstream TLS files must load now, not fail the first https request."""
    from proxy.client.tls import TLSConfigError, tls_context

    ca, cert, key = (
        settings.GATEWAY_UPSTREAM_CA_BUNDLE,
        settings.GATEWAY_UPSTREAM_CLIENT_CERT,
        settings.GATEWAY_UPSTREAM_CLIENT_KEY,
    )
    if key and not cert:
        return [Error("GATEWAY_UPSTREAM_CLIENT_KEY is set without GATEWAY_UPSTREAM_CLIENT_CERT.", id="gateway.E006")]
    if not (ca or cert):
        return []
    try:
        tls_context(ca, cert, key)
    except TLSConfigError as exc:
        return [
            Error(
                f"The upstream TLS files cannot be loaded: {exc}",
                hint="Check GATEWAY_UPSTREAM_CA_BUNDLE, GATEWAY_UPSTREAM_CLIENT_CERT and GATEWAY_UPSTREAM_CLIENT_KEY.",
                id="gateway.E006",
            )
        ]
    return []
