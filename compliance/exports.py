"""Audit exports as CSV, JSON Lines or JSON, produced in bounded memory.

``export_chunks`` reads the events through a server-side cursor (``iterator(chunk_size=2000)``) and
yields text blocks of a few hundred rows; the same generator feeds a streamed HTTP response and the
file written by the Celery export job. Hashes are included so an export can be checked on its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from compliance.models import AuditEvent

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "json": ("application/json", "json"),
}
FIELDS = (
    "seq", "event_id", "kind", "at", "action", "request_id", "consumer", "consumer_name", "client_ip",
    "method", "path", "query", "headers", "route", "service", "target", "status", "latency_ms", "bytes_in",
    "bytes_out", "error_reason", "phi", "actor", "source", "object_type", "object_id", "data", "erased",
    "prev_hash", "hash",
)  # fmt: skip
CHUNK_SIZE = 2000  # rows fetched per round trip of the server-side cursor
BLOCK_ROWS = 500  # rows per yielded text block
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    value = _plain(value)
    # A spreadsheet would run a cell starting with = + - @ as a formula (CSV injection).
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _rows(qs: QuerySet[AuditEvent]) -> Iterator[tuple[Any, ...]]:
    return qs.values_list(*FIELDS).iterator(chunk_size=CHUNK_SIZE)


@dataclass(slots=True)
class Tally:
    rows: int = 0


def _blocks(rows: Iterable[tuple[Any, ...]], tally: Tally) -> Iterator[list[tuple[Any, ...]]]:
    block: list[tuple[Any, ...]] = []
    for row in rows:
        block.append(row)
        if len(block) >= BLOCK_ROWS:
            tally.rows += len(block)
            yield block
            block = []
    if block:
        tally.rows += len(block)
        yield block


def _json(row: tuple[Any, ...]) -> str:
    return json.dumps({k: _plain(v) for k, v in zip(FIELDS, row, strict=True)}, separators=(",", ":"))


def export_chunks(qs: QuerySet[AuditEvent], fmt: str, tally: Tally | None = None) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    tally = tally if tally is not None else Tally()
    rows = _rows(qs)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(FIELDS)
        for block in _blocks(rows, tally):
            writer.writerows([_csv_cell(v) for v in row] for row in block)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    elif fmt == "jsonl":
        for block in _blocks(rows, tally):
            yield "".join(_json(row) + "\n" for row in block)
    else:
        first = True
        yield "["
        for block in _blocks(rows, tally):
            text = ",\n".join(_json(row) for row in block)
            yield ("\n" if first else ",\n") + text
            first = False
        yield "\n]\n"


async def aexport_chunks(qs: QuerySet[AuditEvent], fmt: str, tally: Tally | None = None) -> AsyncIterator[str]:
    """The same blocks for an ASGI response: Django would otherwise read a sync iterator whole into a
    list before sending it. Each block is made in Django's one sync thread, beside its connection."""
    chunks = export_chunks(qs, fmt, tally)
    step = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (block := await step()) is not None:
        yield block


def write_export(qs: QuerySet[AuditEvent], fmt: str, path: str) -> int:
    """Write the export to ``path``; return the number of rows."""
    tally = Tally()
    with open(path, "w", encoding="utf-8", newline="") as out:
        for block in export_chunks(qs, fmt, tally):
            out.write(block)
    return tally.rows
