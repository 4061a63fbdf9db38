"""System checks for the observability settings (docs/observability.md)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from proxy.metrics import multiproc


@register()
def check_metrics(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    token = settings.GATEWAY_METRICS_TOKEN
    if token and len(token) < 16:
        messages.append(
            Warning(
                "GATEWAY_METRICS_TOKEN is shorter than 16 characters.",
                hint="Use a random token, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
                id="observability.W001",
            )
        )
    directory = multiproc.directory()
    if settings.GATEWAY_METRICS and directory is not None and not os.access(directory, os.W_OK):
        messages.append(
            Error(
                f"PROMETHEUS_MULTIPROC_DIR={directory} does not exist or is not writable.",
                hint="Start the gateway with python -m gateway_project.serve, which creates it.",
                id="observability.E001",
            )
        )
    if settings.GATEWAY_TRACING:
        try:
            import opentelemetry.sdk.trace  # noqa: F401
        except ImportError:
            messages.append(
                Error(
                    "Tracing is on (GATEWAY_TRACING or OTEL_TRACES_EXPORTER) but opentelemetry-sdk is missing.",
                    hint="pip install -r requirements/base.txt",
                    id="observability.E002",
                )
            )
    return messages
