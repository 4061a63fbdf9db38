"""Boot checks of the audit settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

POLICY = "compliance.policies.AuditPolicy"


@register()
def check_audit_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if settings.GATEWAY_AUDIT_HEADERS not in ("redacted", "names", "none"):
        problems.append(
            Error(
                f"GATEWAY_AUDIT_HEADERS is {settings.GATEWAY_AUDIT_HEADERS!r}.",
                hint="Use redacted, names or none.",
                id="compliance.E001",
            )
        )
    policies = list(settings.GATEWAY_POLICIES)
    if POLICY not in policies:
        problems.append(
            Error(
                f"{POLICY} is not in GATEWAY_POLICIES: PHI routes would not fail closed.",
                hint=f"Put {POLICY} first in GATEWAY_POLICIES.",
                id="compliance.E002",
            )
        )
    elif policies[0] != POLICY:
        problems.append(
            Warning(
                f"{POLICY} is not the first policy: PHI requests refused by earlier policies skip its check.",
                hint=f"Put {POLICY} first in GATEWAY_POLICIES.",
                id="compliance.W001",
            )
        )
    if settings.GATEWAY_AUDIT_BATCH_SIZE > settings.GATEWAY_AUDIT_BUFFER_SIZE:
        problems.append(
            Error(
                "GATEWAY_AUDIT_BATCH_SIZE is larger than GATEWAY_AUDIT_BUFFER_SIZE.",
                hint="A batch is taken from the buffer: keep it smaller.",
                id="compliance.E003",
            )
        )
    return problems
