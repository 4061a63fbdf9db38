"""The admin overview's hit ratio column, and purges reaching a process's in-memory store through its
table rebuild (cache.compile.catch_up)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from cache import keys
from cache.compile import catch_up
from cache.metrics import RESPONSES
from cache.models import CachePurge
from cache.overview import hit_ratios
from cache.stores import MemoryStore
from proxy.metrics.overview import overview_rows
from proxy.metrics.windows import windows
from tests.cache.test_entries_and_keys import entry

pytestmark = pytest.mark.django_db


def test_the_overview_shows_each_services_hit_ratio() -> None:
    before = hit_ratios().get("ov-shop")
    assert before is None
    for status, times in (("hit", 6), ("stale", 1), ("revalidated", 1), ("miss", 2), ("bypass", 50)):
        RESPONSES.labels("ov-shop", "ov-products", status).inc(times)
    assert hit_ratios()["ov-shop"] == "80.0 %"  # (6 + 1 + 1) / 10; bypasses are not lookups
    rows = overview_rows()
    assert "Cache hit ratio" in rows["columns"]
    browser = Client()
    browser.force_login(User.objects.create_superuser("ops", "ops@example.com", "x"))
    page = browser.get("/admin/overview/").content.decode()
    assert "<th>Cache hit ratio</th>" in page, page[page.find("<table") : page.find("</table>")]
    windows.add("ov-shop", 0.01, False)  # the service had traffic: it has a row
    page = browser.get("/admin/overview/").content.decode()
    assert "<td>80.0 %</td>" in page


def test_a_process_memory_store_applies_the_purges_recorded_since_its_last_table() -> None:
    store = MemoryStore(10_000_000)
    catch_up(store)  # the first table: nothing cached yet, nothing to apply
    a, b, c = (keys.entry_key(route, path, b"", "h", "") for route, path in (("r1", "/a"), ("r1", "/b"), ("r2", "/a")))
    for key, tags in ((a, ()), (b, ("t",)), (c, ())):
        store.put(key, entry(tags=tags), 60, b"", "/p h", 0.0)
    CachePurge.objects.create(kind="tag", tag="t")
    CachePurge.objects.create(kind="prefix", route_key="r2", prefix="/a")
    catch_up(store)
    assert list(store.items) == [a]
    catch_up(store)  # applied once only
    store.put(c, entry(), 60, b"", "/p h", 0.0)
    catch_up(store)
    assert set(store.items) == {a, c}
