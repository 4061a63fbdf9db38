"""Shipping spools (``compliance.spool``) to the durable path, in order, from any process.

``ship_spools`` takes every spool in the directory whose reader lock it can get (one shipper per
spool at a time, so a process's records keep their order) and sends its records, segment by
segment, to ``write`` (the audit stream, or the chain itself), moving each segment's ``shipped``
mark after each accepted batch. A segment is deleted once shipped to its end, if its owner sealed it
or is gone; a gone owner's files are removed with its last segment. Callers:

- a gateway process with a stream: spools of processes that died on this host (their records,
  replayed after a restart);
- ``manage.py audit_worker`` and the Celery task ``flush_audit_events``: without Redis, every spool,
  live ones included (the embedded default's writer: gateway processes never write the chain);
  with Redis, the spools of dead processes, into the stream.

A record that fails its checksum (torn by a machine crash before a sync) ends what is read of that
segment once its owner is gone; it is counted and logged, never shipped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.metrics import SPOOL_CORRUPT
from compliance.spool import Segment, lock, parse_segment_name, unlock

log = logging.getLogger(__name__)

BATCH = 500
Write = Callable[[list[bytes]], None]


def chain_writer() -> Write:
    """Batches into the chain directly (no stream: the embedded default)."""
    from django.db import DatabaseError

    from compliance import chain
    from compliance.chain import drop_connection, fresh_connection

    def write(payloads: list[bytes]) -> None:
        fresh_connection()
        try:
            chain.append([json.loads(p) for p in payloads])
        except DatabaseError:
            drop_connection()
            raise

    return write


def stream_writer(client: Any, stream: str) -> Write:
    """Batches into the audit stream, as a gateway process sends them (``compliance.stream``)."""
    from compliance.stream import APPEND, counter_key, encode_raw

    keys = [stream, counter_key(stream)]
    append = client.register_script(APPEND)

    def write(payloads: list[bytes]) -> None:
        entry = encode_raw(payloads)
        append(keys=keys, args=[entry["n"], entry["r"]])

    return write


def owners(directory: Path) -> dict[str, list[tuple[int, Path]]]:
    """Every spool in ``directory``: owner -> its segments, oldest first."""
    found: dict[str, list[tuple[int, Path]]] = {}
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return found
    for path in entries:
        parsed = parse_segment_name(path.name)
        if parsed is not None:
            found.setdefault(parsed[0], []).append((parsed[1], path))
        elif path.name.endswith(".owner") and not path.name.startswith("."):
            found.setdefault(path.name[: -len(".owner")], [])
    for segments in found.values():
        segments.sort()
    return found


def owner_alive(directory: Path, owner: str) -> bool:
    path = directory / f"{owner}.owner"
    if not path.exists():
        return False
    fd = lock(path)
    if fd is None:
        return True
    unlock(fd)
    return False


@dataclass
class Shipped:
    records: int = 0
    segments_deleted: int = 0
    corrupt: int = 0
    spools: list[str] = field(default_factory=list)


def ship_segment(segment: Segment, write: Write, owner_gone: bool, result: Shipped) -> bool:
    """Send what ``segment`` holds past its mark; True when it is done with (and may be deleted)."""
    final = segment.sealed_end  # read before the records: the owner seals after its last write
    offset = segment.shipped
    while True:
        payloads, after, bad = segment.read(offset, BATCH)
        if payloads:
            write(payloads)
            segment.set_shipped(after)
            result.records += len(payloads)
            offset = after
            continue
        if bad and (owner_gone or final is not None):
            result.corrupt += 1
            SPOOL_CORRUPT.inc()
            log.error("audit spool %s: a torn or corrupt record at offset %d ends this segment", segment.path, offset)
            return True
        if final is not None:
            return offset >= final
        return owner_gone


def ship_owner(directory: Path, owner: str, segments: list[tuple[int, Path]], write: Write, result: Shipped) -> None:
    gone = not owner_alive(directory, owner)
    for seq, path in segments:
        segment = Segment.open(path, seq)
        if segment is None:
            continue
        try:
            done = ship_segment(segment, write, gone, result)
        finally:
            segment.close()
        if not done:
            return  # the owner still writes here; later segments are its spare
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        result.segments_deleted += 1
    if gone:
        for suffix in (".owner", ".reader"):
            with contextlib.suppress(FileNotFoundError):
                (directory / f"{owner}{suffix}").unlink()


def ship_spools(
    directory: Path, write: Write, *, skip: str = "", dead_only: bool = False, max_seconds: float = 0.0
) -> Shipped:
    """Ship every spool whose reader lock is free (``dead_only``: only those whose owner is gone).
    A failing ``write`` raises: what was not accepted stays in the spool for the next try."""
    result = Shipped()
    deadline = time.monotonic() + max_seconds if max_seconds else None
    for owner in owners(directory):
        if owner == skip or (deadline is not None and time.monotonic() > deadline):
            continue
        if dead_only and owner_alive(directory, owner):
            continue
        fd = lock(directory / f"{owner}.reader")
        if fd is None:
            continue  # shipped by someone else right now (or by its owner)
        try:
            # Listed before the lock was ours: another shipper may have finished it meanwhile.
            current = owners(directory).get(owner)
            if current is not None:
                ship_owner(directory, owner, current, write, result)
                result.spools.append(owner)
        finally:
            unlock(fd)
    return result
