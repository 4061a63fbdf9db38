"""The audit hash chain: sealing, appending in insertion order, and verifying.

Every ``AuditEvent`` has a gap-free ``seq`` and ``hash = HMAC(GATEWAY_AUDIT_KEY, prev_hash || sealed)``
where ``sealed`` is the event's canonical form (``sealed_form``): every field except the chain's own
(``id``, ``seq``, ``prev_hash``, ``hash``, ``erased``), personal fields as their keyed pseudonyms, and
datetimes in one fixed ISO form, as JSON with sorted keys. Because personal fields are sealed as
pseudonyms, a GDPR erasure (which stores the pseudonyms) keeps every hash valid.

``append`` is the only writer: it takes a transaction-level lock (Postgres advisory lock; SQLite's
write lock is taken by the IMMEDIATE transaction already), reads the head, skips records whose
``event_id`` is already stored (redelivery from the durable queue), and inserts the rest in order.

``verify`` streams the chain in bounded memory and names the first broken record. A run of events
removed by a purge is covered by a ``ChainGap`` whose MAC (``gap_mac``) makes the gap itself
tamper-evident; the event after it links to the gap's ``head_hash``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, models, transaction

from compliance import pseudonyms
from compliance.models import PERSONAL_DATA, PERSONAL_FIELDS, AuditEvent, AuditVerification, ChainGap

GENESIS = "0" * 64
LOCK_KEY = 0x6761_7564_6974  # "gaudit": the advisory lock every chain writer takes
CHAIN_FIELDS = frozenset({"id", "seq", "prev_hash", "hash", "erased"})
SEALED_FIELDS: tuple[str, ...] = tuple(f.name for f in AuditEvent._meta.concrete_fields if f.name not in CHAIN_FIELDS)
_CHAR_LIMITS = {
    f.name: f.max_length for f in AuditEvent._meta.concrete_fields if isinstance(f, models.CharField) and f.max_length
}
_DEFAULTS = {f.name: f.get_default() for f in AuditEvent._meta.concrete_fields if f.name not in CHAIN_FIELDS}
_DEFAULTS.update({"headers": dict, "data": dict, "at": None})
VERIFY_CHUNK = 2000


def _key() -> bytes:
    return settings.GATEWAY_AUDIT_KEY.encode()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sealed_values(values: Mapping[str, Any]) -> bytes:
    """The canonical bytes an event's hash covers, from its field values."""
    data: dict[str, Any] = {}
    for name in SEALED_FIELDS:
        value = values[name]
        if name in PERSONAL_FIELDS:
            value = _sealed(settings.GATEWAY_AUDIT_PSEUDONYM_KEY, value or "") if value else ""
        elif name == "data" and values.get("object_type") in PERSONAL_DATA:
            value = pseudonyms.sealed_data(value, PERSONAL_DATA[values["object_type"]])
        elif isinstance(value, datetime):
            value = _iso(value)
        data[name] = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


@functools.lru_cache(maxsize=4096)
def _sealed(key: str, value: str) -> str:
    # The same client address or consumer recurs in most records: one HMAC per distinct value.
    return pseudonyms.sealed(value)


def sealed_form(event: AuditEvent) -> bytes:
    return sealed_values({name: getattr(event, name) for name in SEALED_FIELDS})


def _mac(prev_hash: str, sealed: bytes) -> str:
    return hmac.new(_key(), prev_hash.encode() + sealed, hashlib.sha256).hexdigest()


def link(prev_hash: str, event: AuditEvent) -> str:
    return _mac(prev_hash, sealed_form(event))


def gap_mac(seq_from: int, seq_to: int, head_hash: str) -> str:
    """The MAC a ``ChainGap`` carries: a forged or edited gap does not verify."""
    return hmac.new(_key(), f"{seq_from}:{seq_to}:{head_hash}".encode(), hashlib.sha256).hexdigest()


# --- Writing ------------------------------------------------------------------------------------


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def head() -> tuple[int, str]:
    """(seq, hash) of the newest event, or of the newest purge gap when that is newer; genesis: (0, '0'*64)."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    gap = ChainGap.objects.order_by("-seq_to").values_list("seq_to", "head_hash").first()
    if gap is not None and (last is None or gap[0] > last[0]):
        return int(gap[0]), str(gap[1])
    if last is None:
        return 0, GENESIS
    return int(last[0]), str(last[1])


def _clean(value: Any) -> Any:
    """Postgres refuses NUL in text and JSON: replace it (the record is sealed after this)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def normalise(record: Mapping[str, Any]) -> dict[str, Any]:
    """Every sealed field's value as the database will give it back: ``at`` as an aware datetime
    (from a datetime, epoch seconds or ISO text), text clamped to its column, defaults filled in."""
    values: dict[str, Any] = {}
    for name in SEALED_FIELDS:
        if name not in record or (record[name] is None and name in _CHAR_LIMITS):
            values[name] = _DEFAULTS[name]() if callable(_DEFAULTS[name]) else _DEFAULTS[name]
            continue
        value = _clean(record[name])
        if name == "at":
            if isinstance(value, int | float):
                value = datetime.fromtimestamp(value, tz=UTC)
            elif isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif name in _CHAR_LIMITS:
            value = str(value)[: _CHAR_LIMITS[name]]
        values[name] = value
    if values["at"] is None:
        values["at"] = datetime.now(tz=UTC)
    return values


def build_event(record: Mapping[str, Any]) -> AuditEvent:
    """An unsaved event from a plain record; unknown keys are ignored."""
    return AuditEvent(**normalise(record))


@dataclass(frozen=True, slots=True)
class Appended:
    seq: int
    event_id: str
    prev_hash: str
    hash: str


def _insert(rows: list[tuple[int, str, str, dict[str, Any]]]) -> None:
    """One multi-row INSERT per chunk, without building model instances (the ORM's per-field work
    cost ~10x the HMAC on SQLite)."""
    ops = connection.ops
    fields: list[models.Field[Any, Any]] = [AuditEvent._meta.get_field(name) for name in SEALED_FIELDS]  # type: ignore[misc]
    adapters: list[Any] = []
    for field in fields:
        if isinstance(field, models.DateTimeField):
            adapters.append(ops.adapt_datetimefield_value)
        elif isinstance(field, models.JSONField):
            adapters.append(lambda v: ops.adapt_json_value(v, None))
        else:
            adapters.append(None)
    columns = ["seq", "prev_hash", "hash", "erased", *(str(f.column) for f in fields)]
    quoted = ", ".join(ops.quote_name(c) for c in columns)
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = 32_000 if sqlite3.sqlite_version_info >= (3, 32) else 999
    chunk = max(1, limit // len(columns)) if connection.vendor == "sqlite" else 500
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params: list[Any] = []
            for seq, prev, digest, values in part:
                params += [seq, prev, digest, False]
                for name, adapt in zip(SEALED_FIELDS, adapters, strict=True):
                    value = values[name]
                    params.append(adapt(value) if adapt is not None and value is not None else value)
            table = ops.quote_name(AuditEvent._meta.db_table)
            placeholders = ", ".join([per_row] * len(part))
            # Only quoted names and placeholders are formatted in; every value is a parameter.
            cursor.execute(f"INSERT INTO {table} ({quoted}) VALUES {placeholders}", params)  # noqa: S608


def append(records: Sequence[Mapping[str, Any]]) -> list[Appended]:
    """Insert ``records`` at the head of the chain in order; records already stored (same
    ``event_id``) are skipped. Runs in the caller's transaction if there is one."""
    if not records:
        return []
    with transaction.atomic():
        _lock()
        seq, prev = head()
        ids = [str(r["event_id"]) for r in records]
        seen: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            seen.update(AuditEvent.objects.filter(event_id__in=chunk).values_list("event_id", flat=True))
        rows: list[tuple[int, str, str, dict[str, Any]]] = []
        appended = []
        for record in records:
            values = normalise(record)
            event_id = values["event_id"]
            if not event_id:
                raise ValueError("an audit record needs an event_id")
            if event_id in seen:
                continue
            seen.add(event_id)
            seq += 1
            digest = _mac(prev, sealed_values(values))
            rows.append((seq, prev, digest, values))
            appended.append(Appended(seq, event_id, prev, digest))
            prev = digest
        _insert(rows)
    return appended


def fresh_connection() -> None:
    """Before a long-running writer's batch: replace a connection that broke or aged out (never one
    that is inside the caller's transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def drop_connection() -> None:
    """After a database error: the next batch reconnects (Postgres may have been restarted)."""
    if not connection.in_atomic_block:
        connection.close()


@contextmanager
def maintenance() -> Iterator[None]:
    """A transaction in which UPDATE and DELETE of audit events are allowed (erasure, purge).

    The Postgres triggers of migration 0002 refuse both everywhere else; on SQLite this is only a
    transaction."""
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL gateway.audit_maintenance = 'on'")
        yield
        # Inside an outer transaction, SET LOCAL would outlive this block (an error rolls it back
        # with the savepoint).
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL gateway.audit_maintenance = 'off'")


# --- Verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None
    message: str
    head_seq: int | None  # the last event checked (or gap crossed)
    head_hash: str


def _broken(checked: int, seq: int, why: str, head_seq: int | None, head_hash: str) -> VerifyResult:
    return VerifyResult(False, checked, seq, f"record #{seq}: {why}", head_seq, head_hash)


def _start(from_seq: int | None) -> tuple[int, str | None]:
    """Where a verification starts: the expected first seq and the hash it must link to (None: unknown)."""
    if from_seq is None or from_seq <= 1:
        return 1, GENESIS
    before = AuditEvent.objects.filter(seq=from_seq - 1).values_list("hash", flat=True).first()
    if before is not None:
        return from_seq, str(before)
    gap = ChainGap.objects.filter(seq_to=from_seq - 1).first()
    return from_seq, (gap.head_hash if gap is not None else None)


def verify(from_seq: int | None = None, to_seq: int | None = None) -> VerifyResult:
    """Check the chain (or ``from_seq..to_seq``): hashes, links, gap-free seq and purge gaps, and
    (for a check that reaches the head) that the head seen by the last successful check still exists."""
    gaps = {g.seq_from: g for g in ChainGap.objects.all()}
    expected_seq, expected_prev = _start(from_seq)
    events = AuditEvent.objects.order_by("seq")
    if from_seq is not None:
        events = events.filter(seq__gte=from_seq)
    if to_seq is not None:
        events = events.filter(seq__lte=to_seq)
    checked = 0
    head_seq: int | None = None
    head_hash = expected_prev or ""
    for event in events.iterator(chunk_size=VERIFY_CHUNK):
        if expected_prev is None:  # a range that starts after unknown history: trust its first link
            expected_seq, expected_prev = event.seq, event.prev_hash
        while event.seq > expected_seq and expected_seq in gaps:
            gap = gaps[expected_seq]
            if not hmac.compare_digest(gap.mac, gap_mac(gap.seq_from, gap.seq_to, gap.head_hash)):
                return _broken(checked, gap.seq_from, "the purge gap record was altered", head_seq, head_hash)
            expected_seq, expected_prev = gap.seq_to + 1, gap.head_hash
        if event.seq != expected_seq:
            why = f"records #{expected_seq}-#{event.seq - 1} are missing (deleted)"
            if event.seq < expected_seq:
                why = "sequence number out of order (inserted record)"
            return _broken(checked, expected_seq, why, head_seq, head_hash)
        if event.prev_hash != expected_prev:
            return _broken(checked, event.seq, "does not link to the record before it", head_seq, head_hash)
        if not hmac.compare_digest(event.hash, link(event.prev_hash, event)):
            why = "content does not match its hash (altered or forged)"
            return _broken(checked, event.seq, why, head_seq, head_hash)
        checked += 1
        expected_seq, expected_prev = event.seq + 1, event.hash
        head_seq, head_hash = event.seq, event.hash
    if to_seq is None:
        missing = _lost_head(head_seq, head_hash, gaps)
        if missing is not None:
            return _broken(checked, missing[0], missing[1], head_seq, head_hash)
    if checked == 0 and head_seq is None:
        current = head()
        head_seq, head_hash = (current[0] or None), current[1]
    return VerifyResult(True, checked, None, f"{checked} record(s) verified", head_seq, head_hash)


def _lost_head(head_seq: int | None, head_hash: str, gaps: Mapping[int, ChainGap]) -> tuple[int, str] | None:
    """The newest events are gone if the head the last successful verification saw is no longer there."""
    last = AuditVerification.objects.filter(ok=True, head_seq__isnull=False).order_by("-pk").first()
    if last is None or last.head_seq is None:
        return None
    seen = int(last.head_seq)
    if head_seq is not None and head_seq >= seen:
        stored = AuditEvent.objects.filter(seq=seen).values_list("hash", flat=True).first()
        if stored is None or stored == last.head_hash:
            return None  # still there (or purged since: the gap checks above cover that)
        return seen, "differs from the head recorded by the last successful verification"
    if any(g.seq_from <= seen <= g.seq_to for g in gaps.values()):
        return None
    first_lost = (head_seq or 0) + 1
    return first_lost, f"records #{first_lost}-#{seen} seen by verification #{last.pk} are missing (deleted)"
