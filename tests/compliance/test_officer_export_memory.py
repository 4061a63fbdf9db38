"""A 100,000-row export is produced in bounded memory: the generator behind the streamed response
holds a few blocks, never the result. tracemalloc measures the Python heap while it runs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from asgiref.sync import async_to_sync

from compliance import chain, search
from compliance.exports import aexport_chunks, export_chunks
from compliance.models import AuditEvent
from tests.compliance.officer_support import add, event

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.soak]
ROWS = 100_000
BOUND = 8 * 1024 * 1024  # bytes of peak heap allowed while exporting


@pytest.fixture(scope="module")
def many_events(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """100,000 rows, committed once for this file, written directly (the chain is not what this
    measures; chain.append would take minutes here): one chained event, then copies of it."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        add(event(request_id="m0", headers={"accept": "*/*"}))
        first = AuditEvent.objects.get()
        fields = {f.attname: getattr(first, f.attname) for f in AuditEvent._meta.concrete_fields if f.attname != "id"}
        for start in range(1, ROWS, 20_000):
            AuditEvent.objects.bulk_create(
                AuditEvent(**(fields | {"seq": n + 1, "event_id": f"e{n}", "request_id": f"m{n}", "path": f"/o/{n}"}))
                for n in range(start, min(start + 20_000, ROWS))
            )
        yield
        with chain.maintenance():
            AuditEvent.objects.all().delete()


def measure(consume: Callable[[], tuple[int, int]]) -> tuple[int, int, int]:
    tracemalloc.start()
    try:
        rows, size = consume()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, size, peak


@pytest.mark.usefixtures("many_events")
def test_a_100k_row_csv_export_streams_in_bounded_memory() -> None:
    def consume() -> tuple[int, int]:
        size = lines = 0
        for block in export_chunks(search.search_events({}), "csv"):
            size += len(block)
            lines += block.count("\n")
        return lines, size

    lines, size, peak = measure(consume)

    assert lines == ROWS + 1  # and the header
    assert size > 3 * BOUND  # the whole export would not fit in the bound
    assert peak < BOUND, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB export"


@pytest.mark.usefixtures("many_events")
def test_the_asgi_form_of_a_100k_row_export_is_bounded_too() -> None:
    async def drain() -> tuple[int, int]:
        size = lines = 0
        async for block in aexport_chunks(search.search_events({}), "jsonl"):
            size += len(block)
            lines += block.count("\n")
        return lines, size

    # async_to_sync from this thread: the export's ORM steps run here, as they run in Django's one
    # sync thread under a real ASGI server.
    lines, size, peak = measure(async_to_sync(drain))

    assert lines == ROWS
    assert size > 3 * BOUND
    assert peak < BOUND, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB export"
