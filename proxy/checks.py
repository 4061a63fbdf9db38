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
