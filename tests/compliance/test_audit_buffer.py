"""The bounded buffer: full means dropped and counted, except for reserved (PHI) slots."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from prometheus_client import REGISTRY

from compliance.buffer import AuditBuffer


def _dropped() -> float:
    return REGISTRY.get_sample_value("gateway_audit_records_dropped_total") or 0.0


def test_a_full_buffer_drops_counts_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    buffer = AuditBuffer(3)
    before = _dropped()
    records: list[Any] = [object() for _ in range(5)]
    with caplog.at_level(logging.ERROR, logger="compliance.buffer"):
        accepted = [buffer.offer(r) for r in records]
    assert accepted == [True, True, True, False, False]
    assert len(buffer) == 3 and buffer.dropped == 2
    assert _dropped() - before == 2
    assert len([r for r in caplog.records if "audit buffer full" in r.message]) == 1


def test_a_reserved_slot_is_never_refused_and_counts_against_the_others() -> None:
    buffer = AuditBuffer(2)
    assert buffer.reserve()
    assert buffer.offer(object())  # type: ignore[arg-type]
    assert not buffer.reserve() and not buffer.offer(object())  # type: ignore[arg-type]
    buffer.put_reserved(object())  # type: ignore[arg-type]
    assert len(buffer) == 2 and buffer.reserved == 0


def test_take_returns_the_oldest_records_first() -> None:
    buffer = AuditBuffer(10)
    for i in range(5):
        buffer.offer(i)  # type: ignore[arg-type]
    assert buffer.take(3) == [0, 1, 2]
    assert buffer.take(10) == [3, 4]
