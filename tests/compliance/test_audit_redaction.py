"""What a traffic record keeps of the query string and headers: secrets never, rule-listed values never."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from compliance import pseudonyms, records
from compliance.compile import load_audit
from compliance.models import RedactionRule
from compliance.redaction import REDACTED, compile_rules
from proxy.auth.config import AuthConfig, Credentials, Identity
from proxy.observe import Finished
from proxy.specs import RouteSpec, ServiceSpec, Snapshot

SERVICE = ServiceSpec(
    id=1,
    slug="orders",
    name="Orders",
    scheme="http",
    base_path="",
    connect_timeout=1,
    read_timeout=1,
    retries=0,
    lb_algorithm="round_robin",
    preserve_host=False,
    targets=(),
)
AUTH = AuthConfig(
    mode="api_key",
    required_roles=frozenset(),
    allow_anonymous=False,
    key_header=b"x-orders-key",
    key_query_param="apikey",
    identity_headers=(),
    jwt_keys=(),
    credentials=Credentials(),
)


def route(**fields: Any) -> RouteSpec:
    values: dict[str, Any] = {
        "id": 1,
        "name": "orders",
        "service": SERVICE,
        "prefix": "/orders",
        "host": "",
        "methods": None,
        "strip_prefix": True,
        "priority": 0,
        "api_version": "",
        "version_in_path": False,
        "version_in_header": False,
        "max_body_bytes": 1024,
        "auth": AUTH,
    }
    return RouteSpec(**(values | fields))


def finished(query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None, **fields: Any) -> Finished:
    values: dict[str, Any] = {
        "kind": "http",
        "request_id": "req-1",
        "at": time.time(),
        "duration": 0.0123,
        "method": "GET",
        "path": "/orders/1",
        "query": query,
        "scope": {"headers": headers or []},
        "client_address": "192.0.2.1",
        "status": 200,
        "error_reason": None,
        "bytes_in": 0,
        "bytes_out": 10,
        "complete": True,
        "route": route(),
        "identity": Identity(consumer_id="5", name="alice", roles=frozenset()),
    }
    return Finished(**(values | fields))


@pytest.fixture(autouse=True)
def default_rules() -> Iterator[None]:
    records.set_current(records.AuditSettings())
    yield
    records.set_current(records.AuditSettings())


SECRET_HEADERS = [
    (b"authorization", b"Bearer secret-token"),
    (b"proxy-authorization", b"Basic c2VjcmV0"),
    (b"cookie", b"session=secret"),
    (b"x-api-key", b"secret-key"),
    (b"x-orders-key", b"secret-route-key"),
    (b"user-agent", b"curl/8"),
]


def test_secret_headers_are_always_redacted_and_others_kept() -> None:
    rec = records.record_of(finished(headers=SECRET_HEADERS))
    assert "secret" not in repr(rec)
    assert rec["headers"]["authorization"] == REDACTED
    assert rec["headers"]["x-orders-key"] == REDACTED  # the route's own API-key header
    assert rec["headers"]["user-agent"] == "curl/8"


def test_the_routes_api_key_query_parameter_and_access_tokens_are_always_redacted() -> None:
    rec = records.record_of(finished(query=b"apikey=secret1&access_token=secret2&page=2"))
    assert rec["query"] == f"apikey={REDACTED}&access_token={REDACTED}&page=2"


def test_a_rule_listed_query_parameter_and_header_are_redacted() -> None:
    records.set_rules(compile_rules([("query", "ssn", False), ("header", "X-Patient-Id", False)]))
    rec = records.record_of(finished(query=b"ssn=123-45-6789&SSN=1&page=2", headers=[(b"x-patient-id", b"p-77")]))
    assert rec["query"] == f"ssn={REDACTED}&SSN={REDACTED}&page=2"
    assert rec["headers"] == {"x-patient-id": REDACTED}


def test_a_rule_listed_json_path_is_redacted_in_the_records_data() -> None:
    records.set_rules(compile_rules([("json_path", "$.details.subject", False)]))
    rec = records.record_of(finished(details={"details": {"subject": "someone", "code": 1000}}))
    assert rec["data"]["details"] == {"subject": REDACTED, "code": 1000}


def test_header_modes_names_and_none() -> None:
    headers = [(b"user-agent", b"curl/8")]
    assert records.record_of(finished(headers=headers), header_mode="names")["headers"] == {"user-agent": REDACTED}
    assert records.record_of(finished(headers=headers), header_mode="none")["headers"] == {}


def test_the_client_ip_can_be_recorded_as_a_pseudonym() -> None:
    rec = records.record_of(finished(), pseudonymize_ip=True)
    assert rec["client_ip"] == pseudonyms.pseudonym("192.0.2.1") != "192.0.2.1"


def test_a_record_holds_the_request_facts_and_nothing_from_bodies() -> None:
    rec = records.record_of(finished(status=502, error_reason="upstream_unreachable", upstream_error="connect"))
    assert rec["action"] == "request.refused" and rec["error_reason"] == "upstream_unreachable"
    assert rec["consumer"] == "5" and rec["consumer_name"] == "alice"
    assert rec["route"] == "orders" and rec["service"] == "orders" and rec["latency_ms"] == 12.3
    assert rec["data"] == {"upstream_error": "connect"}
    assert records.record_of(finished())["action"] == "request.proxied"
    assert records.record_of(finished(kind="websocket"))["action"] == "websocket.closed"


def test_event_ids_are_unique_in_a_process() -> None:
    ids = {records.new_event_id() for _ in range(10_000)}
    assert len(ids) == 10_000


@pytest.mark.django_db
def test_enabled_rules_are_loaded_into_the_routing_snapshot() -> None:
    RedactionRule.objects.create(kind="query", name="ssn")
    RedactionRule.objects.create(kind="header", name="X-Off", enabled=False)
    loaded = load_audit(Snapshot(version=1, services=(), routes=()))
    assert "ssn" in loaded.rules.query and b"x-off" not in loaded.rules.headers
    assert records.current_rules() is loaded.rules


@pytest.mark.django_db
def test_a_rule_change_bumps_the_config_version_so_every_process_reloads_the_rules() -> None:
    from registry.services import current_config_version

    before = current_config_version()
    rule = RedactionRule.objects.create(kind="header", name="X-Patient-Id")
    assert current_config_version() > before
    middle = current_config_version()
    rule.delete()
    assert current_config_version() > middle


KEY = "gw_3f9a1c0b_" + "Q2x8" * 8  # the shape of this gateway's API keys


@pytest.mark.parametrize(
    "name",
    ["api_key", "apikey", "key", "token", "access_token", "id_token", "refresh_token", "password", "secret",
     "signature", "sig", "API_KEY", "Api-Key", "x-api-key", "client_secret", "session_token", "X-Amz-Signature",
     "api%5Fkey", "pass%77ord"],
)  # fmt: skip
def test_query_parameters_that_can_carry_a_credential_are_always_redacted(name: str) -> None:
    rec = records.record_of(finished(query=f"{name}=s3cr3t&page=2".encode(), route=route(auth=None)))

    assert rec["query"] == f"{name}={REDACTED}&page=2"


@pytest.mark.parametrize(
    "name", [b"token", b"x-auth-token", b"x-access-token", b"api-key", b"x-goog-api-key", b"secret"]
)
def test_headers_named_for_a_credential_are_always_redacted(name: bytes) -> None:
    rec = records.record_of(finished(headers=[(name, b"s3cr3t"), (b"accept", b"*/*")], route=route(auth=None)))

    assert rec["headers"] == {name.decode(): REDACTED, "accept": "*/*"}


@pytest.mark.parametrize(
    "path, query",
    [
        (f"/orders/{KEY}/items", b""),
        (f"/orders/{KEY}.json", b""),
        (f"/orders/x;k={KEY}", b""),
        (f"/orders/{KEY.replace('_', '%5F')}", b""),
        ("/orders/1", f"q={KEY}".encode()),
        ("/orders/1", f"filter=owner%3D{KEY}".encode()),
        ("/orders/1", f"q={KEY.upper()}".encode()),
        ("/orders/1", KEY.encode()),
        ("/orders/1", f"next=https://x.example/?k%3D{KEY.replace('_', '%5F')}".encode()),
    ],
)
def test_a_value_that_looks_like_an_api_key_is_redacted_wherever_it_is(path: str, query: bytes) -> None:
    rec = records.record_of(
        finished(path=path, query=query, route=route(auth=None), headers=[(b"x-note", KEY.encode())])
    )

    assert KEY.lower() not in repr(rec).lower() and KEY[12:] not in repr(rec)
    assert REDACTED in rec["path"] + rec["query"]
    assert rec["headers"] == {"x-note": REDACTED}


def test_a_key_in_a_path_segment_takes_only_that_segment() -> None:
    rec = records.record_of(finished(path=f"/orders/{KEY}/items/7", query=b"page=2&sort=asc"))

    assert rec["path"] == f"/orders/{REDACTED}/items/7"
    assert rec["query"] == "page=2&sort=asc"
