"""CORS from the environment (the variable of the gateway this one replaces):

    CORS_ORIGINS / GATEWAY_CORS_ORIGINS     comma-separated origins, or *

set, the edge defaults' CORS is on with these origins (and the defaults' other CORS settings) while
an admin has not turned CORS on at that level: every route whose service and route inherit gets it;
a service or route with CORS of its own uses its own. The edge defaults' admin page shows it
(read-only: change the variable). A malformed value stops the start naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured, ValidationError

VARIABLE = "CORS_ORIGINS"
origins: tuple[str, ...] = ()  # read at start (AppConfig.ready)
spelled_as = ""


def read(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    from edge.cors import parse_origins

    global origins, spelled_as
    origins, spelled_as = (), ""
    for spelled in (f"GATEWAY_{VARIABLE}", VARIABLE):
        raw = (environ.get(spelled) or "").strip()
        if raw:
            try:
                origins = parse_origins(raw)
            except ValidationError as exc:
                raise ImproperlyConfigured(
                    f"{spelled} must be origins such as https://app.example: {exc.messages[0]}"
                ) from None
            spelled_as = spelled
            break
    return origins


def note() -> str:
    if not origins:
        return "Not set (CORS_ORIGINS)."
    return f"{spelled_as}={','.join(origins)}: CORS is on for these origins while CORS here is off."
