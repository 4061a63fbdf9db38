"""Which close code each leg gets when the other one ends."""

from __future__ import annotations

from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close

from realtime.bridge import _backend_closed, _client_closed, sendable


def test_a_backend_close_code_crosses_over_unchanged() -> None:
    end = _backend_closed(ConnectionClosedOK(Close(4001, "nope"), Close(4001, "nope"), True))

    assert (end.to_client, end.to_backend, end.by, end.code, end.reason) == (4001, None, "backend", 4001, "nope")


def test_a_backend_without_a_close_frame_gives_1011_and_a_protocol_error_1014() -> None:
    assert _backend_closed(ConnectionClosedError(None, None)).to_client == 1011
    assert _backend_closed(ConnectionClosedError(None, Close(1002, "bad frame"))).to_client == 1014
    assert _backend_closed(ConnectionClosedError(None, Close(1009, "too big"))).to_client == 1009


def test_a_client_close_code_crosses_over_and_unsendable_codes_are_replaced() -> None:
    assert _client_closed(4002, "bye").to_backend == 4002
    assert _client_closed(1005, "").to_backend == 1000  # no status code: a plain normal closure
    vanished = _client_closed(1006, "")
    assert (vanished.to_backend, vanished.code) == (1001, 1006)


def test_only_codes_a_close_frame_may_carry_are_sent() -> None:
    assert [sendable(c, 1000) for c in (1000, 1004, 1005, 1006, 1015, 2999, 3000, 4999, 5000, None)] == [
        1000,
        1000,
        1000,
        1000,
        1000,
        1000,
        3000,
        4999,
        1000,
        1000,
    ]
