"""The audit spool: records in order across segments, torn records never shipped, one shipper per
spool, files of a stopped process removed once shipped, and the capture path in front of it (audit
off, PHI reservations, the memory bridge)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance import capture, records
from compliance.buffer import RESERVE_BYTES, RESERVED, MemoryBridge
from compliance.spool import HEADER, RECORD_HEAD, U32, Segment, SpoolWriter, lock, unlock
from compliance.spool_drain import owner_alive, owners, ship_spools
from tests.compliance.test_audit_redaction import finished, route

SEGMENT = 64 * 1024


def payload(n: int, size: int = 100) -> bytes:
    return json.dumps({"n": n, "pad": "x" * size}).encode()


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SpoolWriter]:
    spool = SpoolWriter(tmp_path, SEGMENT, 8 * SEGMENT)
    spool.open()
    yield spool
    spool.close()


def shipped_numbers(directory: Path, **kwargs: object) -> list[int]:
    got: list[bytes] = []
    ship_spools(directory, got.extend, **kwargs)  # type: ignore[arg-type]
    return [json.loads(p)["n"] for p in got]


def test_records_are_read_back_in_order_across_segments(writer: SpoolWriter, tmp_path: Path) -> None:
    for n in range(2000):  # about four segments
        assert writer.append(payload(n))
        if writer.spare is None:
            writer.make_spare()  # what the drainer does between rounds
    assert len(writer.sealed) >= 3
    assert shipped_numbers(tmp_path) == list(range(2000))
    # Sealed segments were shipped to their end and deleted; the live one keeps its mark.
    assert [seq for seq, _ in owners(tmp_path)[writer.owner]] == [writer.current.seq, writer.spare.seq]  # type: ignore[union-attr]
    assert writer.pending_bytes() == 0
    assert writer.release_shipped() >= 3 and not writer.sealed


def test_without_a_spare_segment_a_full_segment_takes_nothing_more(tmp_path: Path) -> None:
    spool = SpoolWriter(tmp_path, SEGMENT, 2 * SEGMENT)
    spool.open()
    written = 0
    while spool.append(payload(written)):
        written += 1
    assert not spool.make_spare()  # two segments is this spool's limit
    assert spool.room() < len(payload(0))
    assert shipped_numbers(tmp_path) == list(range(written))
    spool.close()


def test_a_torn_record_is_never_shipped_and_ends_a_dead_owners_segment(writer: SpoolWriter, tmp_path: Path) -> None:
    writer.append(payload(1))
    writer.append(payload(2))
    segment = writer.current
    assert segment is not None
    # A write cut short: the length is there but the payload is not what its checksum says.
    U32.pack_into(segment.mm, segment.end, 40)
    U32.pack_into(segment.mm, segment.end + 4, 12345)
    assert shipped_numbers(tmp_path) == [1, 2]  # live owner: the rest waits
    unlock(writer.owner_fd)  # the owner is gone
    writer.owner_fd = None
    assert shipped_numbers(tmp_path) == []
    assert writer.owner not in owners(tmp_path)  # its files are removed with its last segment
    writer.current = writer.spare = None  # nothing left to close


def test_one_shipper_at_a_time_and_a_spool_shipped_by_its_owner_is_left_alone(
    writer: SpoolWriter, tmp_path: Path
) -> None:
    writer.append(payload(7))
    held = lock(tmp_path / f"{writer.owner}.reader")
    assert shipped_numbers(tmp_path) == []
    unlock(held)
    writer.own_reader_lock()
    assert shipped_numbers(tmp_path) == []
    assert owner_alive(tmp_path, writer.owner)


def test_the_spool_of_a_killed_process_is_shipped_whole_and_removed(tmp_path: Path) -> None:
    code = (
        "import sys, json; from pathlib import Path; from compliance.spool import SpoolWriter\n"
        f"s = SpoolWriter(Path({str(tmp_path)!r}), {SEGMENT}, {8 * SEGMENT}); s.open()\n"
        "for n in range(300): s.append(json.dumps({'n': n}).encode())\n"
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=os.environ)
    assert proc.returncode == -9
    (owner,) = owners(tmp_path)
    assert not owner_alive(tmp_path, owner)
    assert shipped_numbers(tmp_path, dead_only=True) == list(range(300))
    assert owners(tmp_path) == {}


def test_a_segment_reads_nothing_past_a_zero_length(tmp_path: Path) -> None:
    segment = Segment.create(tmp_path / "x.00000001.seg", 1, SEGMENT)
    assert segment.read(HEADER, 10) == ([], HEADER, False)
    segment.write(b'{"a":1}')
    assert segment.read(HEADER, 10) == ([b'{"a":1}'], HEADER + RECORD_HEAD.size + 7, False)
    segment.close()


# --- capture: the witness in front of the spool ----------------------------------------------------


@pytest.fixture
def captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SpoolWriter]:
    spool = SpoolWriter(tmp_path, SEGMENT, 2 * SEGMENT)
    spool.open()
    monkeypatch.setattr(capture, "spool", spool)
    monkeypatch.setattr(capture, "bridge", MemoryBridge(100))
    records.set_current(records.AuditSettings(unaudited=frozenset({2})))
    yield spool
    records.set_current(records.AuditSettings())
    spool.close()


def test_routes_with_audit_off_are_not_recorded_and_others_are_spooled(captured: SpoolWriter, tmp_path: Path) -> None:
    capture.observe_request(finished(route=route(id=2), request_id="off"))
    capture.observe_request(finished(request_id="on"))
    got: list[bytes] = []
    ship_spools(tmp_path, got.extend)
    assert [json.loads(p)["request_id"] for p in got] == ["on"]


def test_phi_reservations_hold_room_and_a_full_spool_refuses_them(captured: SpoolWriter) -> None:
    capacity, held = captured.capacity(), 0
    while capture.reserve():
        held += 1
    assert held == capacity // RESERVE_BYTES >= 1
    # A reserved record is kept whatever happens: in memory if the spool has no room for it.
    while captured.append(b"{}"):
        pass
    capture.observe_request(finished(request_id="phi", scope={"headers": [], RESERVED: True}))
    assert len(capture.bridge) == 1
    assert capture.bridge.reserved_bytes == (held - 1) * RESERVE_BYTES


def test_a_full_bridge_drops_counts_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    bridge = MemoryBridge(3)
    with caplog.at_level(logging.ERROR, logger="compliance.buffer"):
        accepted = [bridge.put(b"x", reserved=False) for _ in range(5)]
    assert accepted == [True, True, True, False, False]
    assert bridge.put(b"phi", reserved=True)  # a PHI record is never dropped
    assert len(bridge) == 4 and bridge.dropped == 2
    assert len([r for r in caplog.records if "dropping audit records" in r.message]) == 1
