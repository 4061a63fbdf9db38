"""The observer seam (proxy/observe.py): one record per answered request, failures isolated."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from proxy import observe
from proxy.app import GatewayApp
from proxy.headers import client_address

TRUSTED = [ipaddress.ip_network("10.0.0.0/8")]


def test_client_address_is_the_peer_without_forwarded_for() -> None:
    assert client_address("10.0.0.1", b"", TRUSTED) == "10.0.0.1"


def test_client_address_is_the_rightmost_untrusted_forwarded_entry() -> None:
    # The client wrote "6.6.6.6" itself; the trusted proxy 10.0.0.2 appended the address it saw.
    assert client_address("10.0.0.1", b"6.6.6.6, 203.0.113.9, 10.0.0.2", TRUSTED) == "203.0.113.9"


def test_client_address_stops_at_a_malformed_entry() -> None:
    assert client_address("10.0.0.1", b"203.0.113.9, not-an-ip", TRUSTED) == "10.0.0.1"


def test_client_address_of_an_all_trusted_chain_is_its_leftmost_entry() -> None:
    assert client_address("10.0.0.1", b"10.0.0.7, 10.0.0.2", TRUSTED) == "10.0.0.7"


def _scope(path: str = "/nowhere") -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"a=1",
        "headers": [(b"host", b"example.test"), (b"x-request-id", b"req-123")],
        "client": ("127.0.0.1", 5555),
    }


async def _run(app: GatewayApp, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.fixture
def records() -> Any:
    seen: list[observe.Finished] = []
    observe.subscribe(seen.append)
    yield seen
    observe.unsubscribe(seen.append)


def test_a_request_refused_before_routing_gives_one_record(records: list[observe.Finished]) -> None:
    async def django(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - not reached
        raise AssertionError("not a Django path")

    sent = asyncio.run(_run(GatewayApp(django), _scope("/nowhere")))
    assert sent[0]["status"] in (404, 503)
    [record] = records
    assert record.request_id == "req-123"
    assert record.status == sent[0]["status"]
    assert record.error_reason in ("no_route", "config_not_loaded")
    assert (record.method, record.path, record.query) == ("GET", "/nowhere", b"a=1")
    assert record.client_address == "127.0.0.1"
    assert record.route is None and record.complete


def test_a_failing_observer_does_not_stop_the_others(records: list[observe.Finished]) -> None:
    def broken(record: observe.Finished) -> None:
        raise RuntimeError("boom")

    later: list[observe.Finished] = []
    observe.subscribe(broken)
    observe.subscribe(later.append)
    try:
        observe.notify(observe.finished_early(_scope(), "r", 0.0, 0.5, 404, "no_route", "127.0.0.1"))
    finally:
        observe.unsubscribe(broken)
        observe.unsubscribe(later.append)
    assert [r.request_id for r in records] == ["r"]
    assert [r.request_id for r in later] == ["r"]
    assert records[0].duration == 0.5
