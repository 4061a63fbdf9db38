"""Through the real gateway: every kind of answer produces exactly one audit record in the chain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from compliance import chain
from compliance.models import AuditEvent, RedactionRule
from registry.models import Target
from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.support.config import ConfigHelper
from tests.support.http import call, connect, raw, read_reply
from tests.support.servers import BackendThread, free_port


@pytest.fixture(scope="module")
def audited(django_db_setup: None, django_db_blocker: object) -> Iterator[AuditedGateway]:
    process = AuditedGateway(env={"GATEWAY_HEADER_TIMEOUT": "1"}).start()  # a slowloris case below
    yield process
    process.stop()


@pytest.fixture
def config(transactional_db: None, audited: AuditedGateway) -> ConfigHelper:
    return ConfigHelper(gateways=[audited])


def _rid() -> str:
    return f"audit-{uuid.uuid4().hex}"


def test_each_answer_produces_exactly_one_record(
    config: ConfigHelper, audited: AuditedGateway, backend: BackendThread
) -> None:
    svc = config.service("shop", targets=[backend])
    config.route(svc, "/ok")
    config.route(svc, "/keyed", auth_mode="api_key")
    config.route(svc, "/small", max_body_bytes=10)
    dead = config.service("dead")
    Target.objects.create(service=dead, host="127.0.0.1", port=free_port())
    config.route(dead, "/dead")
    empty = config.service("empty")
    Target.objects.create(service=empty, host="127.0.0.1", port=backend.port, enabled=False)
    config.route(empty, "/empty")
    RedactionRule.objects.create(kind="query", name="ssn")
    config.sync()

    cases = [
        ("GET", "/ok/x?ssn=123-45-6789&page=2", b"", 200),
        ("GET", "/keyed/x", b"", 401),
        ("GET", "/nothing/here", b"", 404),
        ("TRACE", "/ok/x", b"", 405),
        ("POST", "/small/x", b"y" * 100, 413),
        ("GET", "/dead/x", b"", 502),
        ("GET", "/empty/x", b"", 503),
    ]
    sent = {}
    for method, path, body, status in cases:
        rid = _rid()
        reply = call(audited, method, path, {"X-Request-ID": rid, "Authorization": "Bearer top-secret"}, body or None)
        assert reply.status == status, (path, reply)
        sent[rid] = (method, path, status)

    events = wait_for_records(audited, sent)
    by_rid: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_rid.setdefault(event.request_id, []).append(event)
    assert set(by_rid) == set(sent)
    for rid, (method, path, status) in sent.items():
        (event,) = by_rid[rid]
        assert event.status == status and event.method == method and path.startswith(event.path)
        assert event.client_ip == "127.0.0.1" and event.kind == "request"
        assert event.headers.get("authorization") == "[REDACTED]"
        assert "top-secret" not in str(event.headers)
        assert (event.action == "request.proxied") == (status == 200)
    ok = next(e for e in events if e.status == 200)
    assert ok.route == "shop-ok" and ok.service == "shop" and ok.target.endswith(str(backend.port))
    assert ok.query == "ssn=[REDACTED]&page=2" and ok.bytes_out > 0 and ok.latency_ms is not None
    dead_event = next(e for e in events if e.status == 502)
    assert dead_event.error_reason == "upstream_unreachable"
    assert chain.verify().ok


def test_a_route_with_audit_off_is_not_recorded(
    config: ConfigHelper, audited: AuditedGateway, backend: BackendThread
) -> None:
    svc = config.service("quiet", targets=[backend])
    config.route(svc, "/quiet", audit=False)
    config.route(svc, "/loud")
    config.sync()
    quiet, loud = _rid(), _rid()
    assert call(audited, "GET", "/quiet/x", {"X-Request-ID": quiet}).status == 200
    assert call(audited, "GET", "/loud/x", {"X-Request-ID": loud}).status == 200
    events = wait_for_records(audited, [loud])
    assert [e.request_id for e in events] == [loud]
    assert not AuditEvent.objects.filter(request_id=quiet).exists()


def test_refusals_made_below_the_application_are_recorded_once_each(
    config: ConfigHelper, audited: AuditedGateway, backend: BackendThread
) -> None:
    config.route(config.service("edge", targets=[backend]), "/edge")
    config.sync()
    head = "Host: 127.0.0.1\r\nX-Request-ID: {rid}\r\nAuthorization: Bearer top-secret\r\n"
    te = "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"
    big = "a" * 16384
    cases = [
        # (request, method, recorded path, status, X-Gateway-Error, headers kept)
        (f"POST /edge/x HTTP/1.1\r\n{head}Content-Length: 5\r\n{te}", "POST", "/edge/x", 400, "bad_request", False),
        (f"POST /edge/x HTTP/1.1\r\n{head}{te}", "POST", "/edge/x", 400, "invalid_framing", True),
        (f"POST /health HTTP/1.1\r\n{head}{te}", "POST", "/health", 400, "invalid_framing", True),
        (f"TRACE /health HTTP/1.1\r\n{head}\r\n", "TRACE", "/health", 405, "method_not_allowed", True),
        (f"GET /edge/x HTTP/1.1\r\n{head}X-Big: {big}\r\n\r\n", "GET", "/edge/x", 431, "header_too_large", False),
        (f"GET /edge/{big} HTTP/1.1\r\n{head}\r\n", "GET", "/edge/" + big[:1994], 414, "uri_too_long", False),
    ]  # fmt: skip
    sent = {}
    for request, method, path, status, reason, headers_kept in cases:
        rid = _rid()
        reply = raw(audited, request.format(rid=rid).encode())
        assert (reply.status, reply.header("x-gateway-error")) == (status, reason), request[:60]
        assert reply.header("x-request-id") == rid
        sent[rid] = (method, path, status, reason, headers_kept)
    rid = _rid()
    with connect(audited) as sock:  # a head that never ends
        sock.sendall(f"GET /edge/slow HTTP/1.1\r\nX-Request-ID: {rid}\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
        reply = read_reply(sock)
    assert (reply.status, reply.header("x-request-id")) == (408, rid)
    sent[rid] = ("GET", "/edge/slow", 408, "request_header_timeout", False)

    events = wait_for_records(audited, sent)
    assert sorted(e.request_id for e in events) == sorted(sent)  # one record each
    for event in events:
        method, path, status, reason, headers_kept = sent[event.request_id]
        assert (event.method, event.path, event.status, event.error_reason) == (method, path, status, reason)
        assert event.action == "request.refused" and event.client_ip == "127.0.0.1"
        assert "top-secret" not in str(event.headers)
        assert (event.headers.get("authorization") == "[REDACTED]") == headers_kept
    assert chain.verify().ok
