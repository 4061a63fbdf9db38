"""OpenTelemetry traces of the data plane, off unless ``GATEWAY_TRACING`` (or ``OTEL_TRACES_EXPORTER``).

When off, nothing here is imported on the request path: ``GatewayApp`` and ``upstream.forward``
test one module-level flag that ``configure`` sets once at start. When on:

- a SERVER span per proxied request, continuing the W3C ``traceparent`` the client sent;
- a CLIENT span around the upstream call, whose ``traceparent`` replaces the client's in the
  headers sent to the backend, so the backend's spans join the same trace;
- Redis and Postgres client spans from the OpenTelemetry instrumentations (control plane, and
  the data plane's own Redis round trips);
- a span per Celery task sent (PRODUCER) and run (CONSUMER, in the worker, continuing the sender's
  trace), from opentelemetry-instrumentation-celery; the worker's database and Redis calls are its
  children;
- a SERVER span per request Django handles (admin, admin API, health, portal), from
  opentelemetry-instrumentation-django's middleware, with that request's database spans as children.

Export is configured by the standard variables (``OTEL_TRACES_EXPORTER=otlp``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``, ...), over OTLP/HTTP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proxy.exchange import Exchange, Response

log = logging.getLogger(__name__)

enabled = False
TRACE_ID = "gateway.trace_id"
_tracer: Any = None
_propagator: Any = None
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def configure(provider: Any = None) -> None:
    """Turn tracing on for this process (``provider``: tests pass one with an in-memory exporter)."""
    global enabled, _tracer, _propagator
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if provider is None:
        provider = _provider_from_environment()
        trace.set_tracer_provider(provider)
        _instrument_clients()
        _instrument_django(provider)
    _tracer = provider.get_tracer("gateway.proxy")
    _propagator = TraceContextTextMapPropagator()
    enabled = True


def _provider_from_environment() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "gateway")})
    provider = TracerProvider(resource=resource)
    exporters = [e.strip() for e in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if e.strip()]
    for name in exporters:
        if name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name in ("otlp", "otlp_proto_http"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name != "none":
            log.warning("OTEL_TRACES_EXPORTER names %r, which the gateway does not ship; ignored", name)
    return provider


def _instrument_django(provider: Any) -> None:
    """Server spans for the requests Django handles (admin, admin API, health, portal): the
    instrumentation puts its middleware first in ``settings.MIDDLEWARE``, which only Django's handler
    runs; proxied requests never reach it. Called from ``AppConfig.ready``, before the handler loads
    its middleware; with tracing off it is never called, so the middleware is not there at all."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    instrumentor = DjangoInstrumentor()
    try:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    except Exception:
        log.exception("could not instrument Django")


def _instrument_clients() -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # Celery's: configured when Django starts, before a prefork worker forks its children (they keep
    # the signal handlers; the SDK's span processor restarts its thread after a fork).
    for instrumentor in (RedisInstrumentor(), PsycopgInstrumentor(), CeleryInstrumentor()):
        try:
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument()
        except Exception:
            log.exception("could not instrument %s", type(instrumentor).__name__)


def _header_getter() -> Any:
    class ScopeHeaders:
        def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
            wanted = key.lower().encode()
            found = [v.decode("latin-1") for n, v in carrier["headers"] if n == wanted]
            return found or None

        def keys(self, carrier: dict[str, Any]) -> list[str]:
            return [n.decode("latin-1") for n, _ in carrier["headers"]]

    return ScopeHeaders()


_getter: Any = None


def server(app: ASGIApp) -> ASGIApp:
    """``app`` wrapped in a SERVER span that continues the request's ``traceparent``."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    global _getter
    _getter = _header_getter()

    async def traced(scope: dict[str, Any], receive: Any, send: Any) -> None:
        context = _propagator.extract(scope, getter=_getter)
        method = scope.get("method", "")
        attributes = {"http.request.method": method, "url.path": scope.get("path", ""), "url.scheme": "http"}
        with _tracer.start_as_current_span(
            f"{method} proxy", context=context, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            scope[TRACE_ID] = format(span.get_span_context().trace_id, "032x")
            status = 0

            async def send_status(message: dict[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            await app(scope, receive, send_status)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))

    return traced


async def client(forward: Callable[[Exchange], Awaitable[Response]], exchange: Exchange) -> Response:
    """The upstream call in a CLIENT span; ``inject`` adds its ``traceparent`` to the request."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    spec = exchange.route.spec
    attributes = {
        "http.request.method": exchange.method,
        "gateway.service": spec.service.slug,
        "gateway.route": spec.name,
    }
    with _tracer.start_as_current_span(
        f"{exchange.method} upstream {spec.service.slug}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            response = await forward(exchange)
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, exchange.upstream_error or type(exc).__name__))
            raise
        finally:
            if exchange.target is not None:
                span.set_attribute("server.address", exchange.target.address)
        span.set_attribute("http.response.status_code", response.status)
        return response


def inject(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream headers with the current span's ``traceparent`` (and ``tracestate``) instead of
    whatever the client sent under those names."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    kept = [(n, v) for n, v in headers if n.lower() not in ("traceparent", "tracestate")]
    kept.extend(carrier.items())
    return kept
