"""The access line rendered field by field is the very text ``json.dumps`` of the same fields gives
(and the console line keeps its layout), whatever the values: None, escapes, non-ASCII, whole seconds."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from proxy.access_log import AccessLog
from proxy.observe import HTTP, Finished


def _record(**overrides: Any) -> Finished:
    service = SimpleNamespace(slug="shop", name="Shop")
    fields: dict[str, Any] = {
        "kind": HTTP,
        "request_id": "0f9c2d7e6b5a4c3d",
        "at": 1764820800.123456,
        "duration": 0.0021,
        "method": "GET",
        "path": "/shop/orders/17",
        "query": b"",
        "scope": {},
        "client_address": "10.1.2.3",
        "status": 200,
        "error_reason": None,
        "bytes_in": 0,
        "bytes_out": 512,
        "complete": True,
        "route": SimpleNamespace(name="shop-orders", service=service),
        "target": SimpleNamespace(address="10.0.0.5:8080"),
        "identity": None,
        "upstream_seconds": 0.0015,
    }
    fields.update(overrides)
    return Finished(**fields)


def _expected(record: Finished) -> dict[str, Any]:
    route, target, identity = record.route, record.target, record.identity
    return {
        "event": "access",
        "level": "info",
        "time": datetime.fromtimestamp(record.at + record.duration, UTC).isoformat().replace("+00:00", "Z"),
        "logger": "gateway.access",
        "request_id": record.request_id,
        "trace_id": record.scope.get("gateway.trace_id"),
        "kind": record.kind,
        "method": record.method,
        "path": record.path.replace("gw_0123abcd_abcdefghijklmnopqrstuvwxyzABCDEF", "[REDACTED]"),
        "service": route.service.slug if route is not None else None,
        "route": route.name if route is not None else None,
        "status": record.status,
        "duration_ms": round(record.duration * 1000, 3),
        "upstream_ms": round(record.upstream_seconds * 1000, 3),
        "gateway_ms": round(record.gateway_seconds * 1000, 3),
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "error_reason": record.error_reason,
        "upstream_error": record.upstream_error,
        "target": target.address if target is not None else None,
        "consumer": identity.name if identity is not None else None,
        "client": record.client_address,
    }


RECORDS = [
    _record(),
    _record(at=1764820800.0, duration=0.0),  # a whole second: isoformat writes no fraction
    _record(at=1764820800.9999996, duration=0.0),  # rounds up into the next second
    _record(
        route=None,
        target=None,
        status=404,
        error_reason="no_route",
        path='/q"uo\\te/\u00e9\u6f22/\x01',
        request_id="r\u00e9q",
        scope={"gateway.trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
    ),
    _record(status=502, error_reason="upstream_unreachable", upstream_error="connect", upstream_seconds=0.0),
    _record(identity=SimpleNamespace(name="acme \u2603"), duration=12.3456789, upstream_seconds=20.0),
]


def _lines(fmt: str, records: list[Finished]) -> list[str]:
    read, write = os.pipe()
    access = AccessLog(fmt, fd=write)
    for record in records:
        access(record)
    access.flush()
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        return pipe.read().decode("utf-8").splitlines()


@pytest.mark.parametrize("record", RECORDS)
def test_it_renders_the_json_line_json_dumps_would(record: Finished) -> None:
    [line] = _lines("json", [record])
    assert line == json.dumps(_expected(record), separators=(", ", ": "))


def test_it_redacts_an_api_key_in_the_path() -> None:
    [line] = _lines("json", [_record(path="/keys/gw_0123abcd_abcdefghijklmnopqrstuvwxyzABCDEF/x")])
    assert json.loads(line)["path"] == "/keys/[REDACTED]/x"
    assert "gw_0123abcd" not in line


@pytest.mark.parametrize("record", RECORDS)
def test_it_keeps_the_console_layout(record: Finished) -> None:
    fields = _expected(record)
    where = f"{fields['service']}/{fields['route']}" if fields["route"] else "-"
    extra = f" error={fields['error_reason']}" if fields["error_reason"] else ""
    if fields["upstream_error"]:
        extra += f" upstream_error={fields['upstream_error']}"
    expected = (
        f"{fields['time']} [info     ] access {fields['method']} {fields['path']} {fields['status']} "
        f"{fields['duration_ms']}ms route={where} upstream={fields['upstream_ms']}ms client={fields['client']} "
        f"request_id={fields['request_id']}{extra}"
    )
    assert _lines("console", [record]) == [expected]


def test_it_renders_each_second_of_a_batch_anew() -> None:
    records = [_record(at=1764820800.5 + n, duration=0.0) for n in range(3)]
    times = [json.loads(line)["time"] for line in _lines("json", records)]
    assert times == ["2025-12-04T04:00:00.500000Z", "2025-12-04T04:00:01.500000Z", "2025-12-04T04:00:02.500000Z"]
