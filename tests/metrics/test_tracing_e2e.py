"""Tracing through a real gateway process to a real backend, exported over OTLP/HTTP to an
in-process receiver: the server span continues the client's traceparent, the client span is its
child, and the backend receives the client span's traceparent. A request Django handles (the admin
API) gets a server span of its own from opentelemetry-instrumentation-django, with its database
queries as children."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.otlp import Receiver
from tests.support.servers import BackendThread, GatewayProcess

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_PARENT = "00f067aa0ba902b7"


@pytest.fixture
def traced_gateway(transactional_db: None, receiver: tuple[Receiver, BackendThread]) -> Iterator[GatewayProcess]:
    _, server = receiver
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{server.url}/v1/traces",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "gateway-under-test",
        "GATEWAY_LOG_FORMAT": "json",
    }
    process = GatewayProcess(env=env).start()
    yield process
    process.stop()


def _hex(raw: bytes) -> str:
    return raw.hex()


def _by_kind(spans: list[Span], kind: Any) -> list[Span]:
    return [s for s in spans if s.kind == kind]


def test_a_proxied_request_continues_the_trace_and_propagates_it_to_the_backend(
    traced_gateway: GatewayProcess, backend: BackendThread, receiver: tuple[Receiver, BackendThread]
) -> None:
    collector, _ = receiver
    config = ConfigHelper(gateways=[traced_gateway])
    config.route(config.service("traced", targets=[backend]), "/traced", name="traced-route")
    config.sync()
    collector.spans.clear()

    incoming = f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"
    reply = get(traced_gateway, "/traced/hello", headers={"traceparent": incoming})
    assert reply.status == 200
    seen = [v for k, v in reply.json()["headers"] if k.lower() == "traceparent"]
    assert len(seen) == 1, seen  # the client's header was replaced, not repeated
    version, trace_id, parent_id, flags = seen[0].split("-")
    assert version == "00"

    spans = collector.wait_for(CLIENT_TRACE, 2, kind=Span.SPAN_KIND_SERVER)
    server = [s for s in _by_kind(spans, Span.SPAN_KIND_SERVER) if _hex(s.trace_id) == CLIENT_TRACE]
    client = [s for s in _by_kind(spans, Span.SPAN_KIND_CLIENT) if _hex(s.trace_id) == CLIENT_TRACE]
    assert len(server) == 1 and len(client) == 1, spans
    assert _hex(server[0].parent_span_id) == CLIENT_PARENT  # continues the client's trace
    assert client[0].parent_span_id == server[0].span_id  # the upstream call is its child
    assert (trace_id, parent_id, flags) == (CLIENT_TRACE, _hex(client[0].span_id), "01")  # what the backend saw
    attributes = {a.key: a.value for a in client[0].attributes}
    assert attributes["gateway.route"].string_value == "traced-route"
    assert attributes["http.response.status_code"].int_value == 200


def test_without_tracing_the_client_traceparent_passes_through_untouched(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("untraced", targets=[backend]), "/untraced")
    config.sync()
    incoming = f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"
    reply = get(gateway, "/untraced/x", headers={"traceparent": incoming})
    assert [v for k, v in reply.json()["headers"] if k.lower() == "traceparent"] == [incoming]


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
def test_postgres_and_redis_calls_get_client_spans(
    traced_gateway: GatewayProcess, receiver: tuple[Receiver, BackendThread]
) -> None:
    collector, _ = receiver
    deadline = time.monotonic() + 10
    systems: set[str] = set()
    while time.monotonic() < deadline and not {"postgresql", "redis"} <= systems:
        for span in list(collector.spans):
            for attribute in span.attributes:
                if attribute.key == "db.system":
                    systems.add(attribute.value.string_value)
        time.sleep(0.1)
    assert {"postgresql", "redis"} <= systems  # the config poll reads Postgres and announces in Redis


def test_the_access_line_carries_the_trace_id(
    traced_gateway: GatewayProcess, backend: BackendThread, receiver: tuple[Receiver, BackendThread]
) -> None:
    config = ConfigHelper(gateways=[traced_gateway])
    config.route(config.service("logged", targets=[backend]), "/logged")
    config.sync()
    reply = get(traced_gateway, "/logged/x", headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"})
    request_id = reply.header("x-request-id")
    assert request_id
    deadline = time.monotonic() + 5
    while request_id not in traced_gateway.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(line for line in traced_gateway.log().splitlines() if request_id in line and "access" in line)
    assert f'"trace_id": "{CLIENT_TRACE}"' in line


# Django's side: opentelemetry-instrumentation-django, with the same provider and exporter.
PASSWORD = "pw-traced-123456"


def post_json(gateway: GatewayProcess, path: str, body: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        f"{gateway.url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def get_status(gateway: GatewayProcess, path: str, headers: dict[str, str]) -> int:
    with urllib.request.urlopen(urllib.request.Request(f"{gateway.url}{path}", headers=headers), timeout=10) as reply:
        return int(reply.status)


@pytest.mark.needs_postgres
def test_an_admin_api_request_has_a_django_server_span_with_database_children(
    traced_gateway: GatewayProcess, receiver: tuple[Receiver, BackendThread]
) -> None:
    collector, _ = receiver
    User.objects.create_superuser("tracer", password=PASSWORD)
    token = post_json(traced_gateway, "/admin/api/token/", {"username": "tracer", "password": PASSWORD})["access"]
    traceparent = f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"

    status = get_status(
        traced_gateway, "/admin/api/services/", {"Authorization": f"Bearer {token}", "traceparent": traceparent}
    )

    assert status == 200
    spans = collector.wait_for(CLIENT_TRACE, 2, kind=Span.SPAN_KIND_SERVER)
    servers = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    assert len(servers) == 1, [(s.name, s.kind) for s in spans]
    server = servers[0]
    assert server.parent_span_id.hex() == CLIENT_PARENT  # continues the caller's trace
    assert "admin/api/services" in server.name
    queries = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT and _attribute(s, "db.system") == "postgresql"]
    assert queries and all(q.parent_span_id == server.span_id for q in queries)


def _attribute(span: Span, key: str) -> str:
    return next((a.value.string_value for a in span.attributes if a.key == key), "")
