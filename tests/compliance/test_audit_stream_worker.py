"""The audit worker's code against real Redis: acknowledgement only after the insert, redelivery
without duplicates, entries of a dead consumer claimed, backlog counted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from compliance import chain, stream
from compliance.models import AuditEvent
from tests.compliance.audit_support import record

pytestmark = [pytest.mark.django_db, pytest.mark.needs_redis]


@pytest.fixture
def client() -> Iterator[Any]:
    import redis

    with redis.Redis.from_url(settings.REDIS_URL) as conn:
        yield conn


@pytest.fixture
def name(client: Any) -> Iterator[str]:
    key = f"test:audit:worker:{uuid.uuid4().hex[:8]}"
    yield key
    client.delete(key, stream.counter_key(key))


def _add(client: Any, name: str, records: list[dict[str, Any]]) -> None:
    client.xadd(name, stream.encode(records))
    client.incrby(stream.counter_key(name), len(records))


def test_entries_are_written_acknowledged_and_deleted(client: Any, name: str) -> None:
    _add(client, name, [record(), record()])
    _add(client, name, [record()])
    consumer = stream.StreamConsumer(client, name, consumer="w1")
    assert consumer.drain(5) == 3
    assert AuditEvent.objects.count() == 3 and chain.verify().ok
    assert client.xlen(name) == 0 and int(client.get(stream.counter_key(name))) == 0
    assert client.xpending(name, stream.GROUP)["pending"] == 0


def test_a_failed_insert_leaves_the_entry_pending_and_it_is_retried(client: Any, name: str) -> None:
    _add(client, name, [record(), record(status=-5)])  # the CHECK constraint refuses the batch
    consumer = stream.StreamConsumer(client, name, consumer="w1")
    for _ in range(2):  # the second read is the retry of the same pending entry
        with pytest.raises(IntegrityError), transaction.atomic():
            consumer.run_once(block_ms=100)
        assert client.xpending(name, stream.GROUP)["pending"] == 1
    assert int(client.get(stream.counter_key(name))) == 2
    assert not AuditEvent.objects.exists()


def test_a_redelivered_batch_is_not_stored_twice(client: Any, name: str) -> None:
    batch = [record(), record()]
    chain.append(batch)  # written once, the ack was lost
    _add(client, name, batch)
    assert stream.StreamConsumer(client, name, consumer="w1").drain(5) == 2
    assert AuditEvent.objects.count() == 2


def test_entries_of_a_dead_consumer_are_claimed(client: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _add(client, name, [record()])
    dead = stream.StreamConsumer(client, name, consumer="dead")
    dead.ensure_group()
    client.xreadgroup(stream.GROUP, "dead", {name: ">"}, count=10)  # read, never acknowledged
    monkeypatch.setattr(stream, "CLAIM_IDLE_MS", 0)
    assert stream.StreamConsumer(client, name, consumer="alive").drain(5) == 1
    assert AuditEvent.objects.count() == 1
