"""Log rendering: structlog over the standard library's logging.

Every line, from any logger (Django, uvicorn, Celery, the gateway), goes through one
``structlog.stdlib.ProcessorFormatter``: JSON objects one per line in production
(``GATEWAY_LOG_FORMAT=json``, the default with ``DATABASE_URL`` or ``REDIS_URL``), coloured
console lines in the embedded default. Lines logged while the data plane handles a request carry
its ``request_id`` (and ``trace_id`` with tracing on), taken from a context variable that
``proxy.app.GatewayApp`` sets; the access log (``proxy.access_log``) passes its fields directly.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

from proxy.exchange import request_context  # set by the data plane for each request it handles

EventDict = dict[str, Any]


def _add_request(logger: Any, name: str, event: EventDict) -> EventDict:
    current = request_context.get()
    if current is not None:
        event.setdefault("request_id", current[0])
        if current[1]:
            event.setdefault("trace_id", current[1])
    return event


def _add_fields(logger: Any, name: str, event: EventDict) -> EventDict:
    record: logging.LogRecord | None = event.get("_record")
    fields = getattr(record, "fields", None)
    if fields:
        event.update(fields)
    if record is not None:
        event.setdefault("logger", record.name)
    return event


def _pre_chain(time_key: str) -> list[Any]:
    return [
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key=time_key),
        _add_fields,
        _add_request,
    ]


def formatter(fmt: str = "console") -> logging.Formatter:
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        processors = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        processors = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]
    # The console renderer puts "timestamp" first on the line; JSON lines call it "time".
    chain = _pre_chain("time" if fmt == "json" else "timestamp")
    return structlog.stdlib.ProcessorFormatter(processors=processors, foreign_pre_chain=chain)


class OneLineRefusals(logging.Filter):
    """A request Django refuses as suspicious (a bad ``Host`` reaching the admin, ...) is a client's
    mistake, answered with a 400: one warning line, not an error with a 30-line traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security.") and record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def default_format(database_url: str, redis_url: str) -> str:
    """json in production (Postgres or Redis configured), console in the embedded default."""
    embedded = (not database_url or database_url.startswith("sqlite")) and not redis_url
    return "console" if embedded else "json"


def uvicorn_log_config(fmt: str, level: str) -> dict[str, Any]:
    """uvicorn's own loggers (server start and stop, its errors) rendered like every other line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "gateway_project.logs.formatter", "fmt": fmt}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "loggers": {
            "uvicorn": {"handlers": ["console"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }
