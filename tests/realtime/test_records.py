"""Every WebSocket connection gives observers one Finished record of kind "websocket"."""

from __future__ import annotations

import time

from proxy import observe
from realtime import records
from realtime.bridge import End


class Tally:
    messages_in, messages_out, bytes_in, bytes_out = 3, 2, 30, 20


def test_a_closed_connection_is_recorded_with_its_close_code_and_counts() -> None:
    seen: list[observe.Finished] = []
    observe.subscribe(seen.append)
    try:
        scope = {"path": "/live/x", "raw_path": b"/live/x", "query_string": b"a=1", "headers": []}
        records.notify(
            scope,
            "rid",
            time.perf_counter() - 1,
            status=101,
            client_address="10.0.0.1",
            end=End(None, 4002, "bye", "client", 4002),
            counts=Tally(),
        )
        records.notify(scope, "rid2", time.perf_counter(), status=401, client_address="", error_reason="x")
    finally:
        observe.unsubscribe(seen.append)

    first, refused = seen
    assert first.kind == "websocket" and first.status == 101 and first.duration >= 1
    assert first.details == {
        "close_code": 4002,
        "close_by": "client",
        "messages_in": 3,
        "messages_out": 2,
        "bytes_in": 30,
        "bytes_out": 20,
    }
    assert (first.bytes_in, first.bytes_out, first.path, first.query) == (30, 20, "/live/x", b"a=1")
    assert refused.status == 401 and refused.error_reason == "x"
    assert refused.details is not None and refused.details["close_code"] is None
