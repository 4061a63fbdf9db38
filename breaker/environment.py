"""A circuit breaker from the environment (the variable of the gateway this one replaces):

    CIRCUIT_BREAKER_FAILURE_THRESHOLD / GATEWAY_CIRCUIT_BREAKER_FAILURE_THRESHOLD

set, every service without breaker settings of its own (no row: nobody changed its breaker section)
gets a breaker per target that opens after that many consecutive failures, the section's other
defaults otherwise. The service's admin page says so (read-only: change the variable); a service
whose breaker section is saved uses its own. A malformed value stops the start naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

VARIABLE = "CIRCUIT_BREAKER_FAILURE_THRESHOLD"
threshold: int | None = None  # read at start (AppConfig.ready)


def read(environ: Mapping[str, str] = os.environ) -> int | None:
    global threshold
    threshold = None
    for spelled in (f"GATEWAY_{VARIABLE}", VARIABLE):
        raw = (environ.get(spelled) or "").strip()
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 1000:
                raise ImproperlyConfigured(f"{spelled} must be a whole number of failures from 1 to 1000, got {raw!r}")
            threshold = int(raw)
            break
    return threshold


def note() -> str:
    """What the service's breaker section says about the environment's breaker."""
    if threshold is None:
        return ""
    return (
        f" From the environment ({VARIABLE}={threshold}): a service whose breaker settings nobody changed "
        f"has a breaker opening after {threshold} consecutive failures."
    )
