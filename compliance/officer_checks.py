"""Boot checks of the compliance officer's settings (exports directory, retention periods)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

HIPAA_DAYS = 2190  # six years


@register()
def check_officer_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    exports = settings.VAR_DIR / "exports"
    parent = exports if exports.exists() else settings.VAR_DIR
    if not os.access(parent, os.W_OK):
        problems.append(Error(f"{exports} is not writable: export jobs cannot write their files.",
                              hint="Set GATEWAY_VAR_DIR to a writable directory.", id="compliance.E101"))  # fmt: skip
    phi = settings.GATEWAY_AUDIT_PHI_RETENTION_DAYS
    if 0 < phi < HIPAA_DAYS:
        problems.append(Warning(f"GATEWAY_AUDIT_PHI_RETENTION_DAYS is {phi}: HIPAA expects six years ({HIPAA_DAYS}).",
                                id="compliance.W101"))  # fmt: skip
    return problems
