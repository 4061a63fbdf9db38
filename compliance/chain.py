# PLACEHOLDER: replaced at merge by the audit branch's chain.py
"""A minimal stand-in for the audit chain, with the interface the compliance officer's code uses.

append(records) -> int, verify(from_seq, to_seq) -> VerifyResult, maintenance(), gap_mac(...).
The real module (audit branch) owns locking, Postgres triggers and the verification command.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from compliance.models import PERSONAL_FIELDS, AuditEvent, ChainGap
from compliance.pseudonyms import sealed

GENESIS = "0" * 64
_UNHASHED = ("id", "prev_hash", "hash", "erased")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None
    message: str


def _mac(message: bytes) -> str:
    return hmac.new(settings.GATEWAY_AUDIT_KEY.encode(), message, hashlib.sha256).hexdigest()


def _canonical(event: dict[str, Any]) -> bytes:
    doc: dict[str, Any] = {}
    for field in AuditEvent._meta.concrete_fields:
        name = field.attname
        if name in _UNHASHED:
            continue
        value = event.get(name, field.get_default())
        if name in PERSONAL_FIELDS:
            value = sealed(value or "")
        if isinstance(value, datetime):
            value = value.isoformat()
        doc[name] = value
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    return _mac(prev_hash.encode() + _canonical(event))


def gap_mac(seq_from: int, seq_to: int, head_hash: str) -> str:
    return _mac(f"gap:{seq_from}:{seq_to}:{head_hash}".encode())


def _head() -> tuple[int, str]:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    gap = ChainGap.objects.order_by("-seq_to").values_list("seq_to", "head_hash").first()
    heads = [h for h in (last, gap) if h is not None]
    return max(heads) if heads else (0, GENESIS)


def append(records: list[dict[str, Any]]) -> int:
    if not records:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(7261001)")
        known = set(
            AuditEvent.objects.filter(event_id__in=[r["event_id"] for r in records]).values_list("event_id", flat=True)
        )
        seq, prev = _head()
        rows = []
        for record in records:
            if record["event_id"] in known:
                continue
            known.add(record["event_id"])
            seq += 1
            values = {**record, "seq": seq}
            digest = event_hash(prev, values)
            rows.append(AuditEvent(**values, prev_hash=prev, hash=digest))
            prev = digest
        AuditEvent.objects.bulk_create(rows, batch_size=2000)
        return len(rows)


@contextmanager
def maintenance() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('gateway.audit_maintenance', 'on', true)")
        yield


def verify(from_seq: int | None = None, to_seq: int | None = None) -> VerifyResult:
    gaps = {g.seq_from: g for g in ChainGap.objects.all()}
    events = AuditEvent.objects.order_by("seq")
    if from_seq is not None:
        events = events.filter(seq__gte=from_seq)
    if to_seq is not None:
        events = events.filter(seq__lte=to_seq)
    checked = 0
    # From the start, the first event links to GENESIS (or a gap does); from elsewhere, trust the first.
    expected: int | None = 1 if from_seq is None else None
    prev: str | None = GENESIS if from_seq is None else None
    for event in events.iterator(chunk_size=2000):
        values = {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}
        while expected is not None and event.seq != expected:
            gap = gaps.get(expected)
            if gap is None or gap.mac != gap_mac(gap.seq_from, gap.seq_to, gap.head_hash):
                return VerifyResult(False, checked, expected, f"event #{expected} is missing")
            expected, prev = gap.seq_to + 1, gap.head_hash
        if prev is None:
            prev = event.prev_hash
        if event.prev_hash != prev or event.hash != event_hash(prev, values):
            return VerifyResult(False, checked, event.seq, f"event #{event.seq} does not match its hash")
        checked += 1
        expected, prev = event.seq + 1, event.hash
    return VerifyResult(True, checked, None, f"{checked} events verified")
