"""Boot checks of the audit settings."""

from __future__ import annotations

import os
from pathlib import Path
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
    if settings.GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES * 2 > settings.GATEWAY_AUDIT_SPOOL_MAX_BYTES:
        problems.append(
            Error(
                "GATEWAY_AUDIT_SPOOL_MAX_BYTES is less than two GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES.",
                hint="Each process keeps the spool file it writes and the next one: allow at least two.",
                id="compliance.E004",
            )
        )
    spool = Path(settings.GATEWAY_AUDIT_SPOOL_DIR)
    existing = next((p for p in (spool, *spool.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK | os.X_OK):
        problems.append(
            Error(
                f"GATEWAY_AUDIT_SPOOL_DIR {spool} cannot be created or written by this user.",
                hint="Every gateway process writes its audit records there first; give it a writable local directory.",
                id="compliance.E005",
            )
        )
    if settings.GATEWAY_AUDIT_BATCH_SIZE > settings.GATEWAY_AUDIT_BUFFER_SIZE:
        problems.append(
            Error(
                "GATEWAY_AUDIT_BATCH_SIZE is larger than GATEWAY_AUDIT_BUFFER_SIZE.",
                hint="Keep the batch smaller than the memory bridge.",
                id="compliance.E003",
            )
        )
    return problems
