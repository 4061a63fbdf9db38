"""Entry bytes (cache/entries.py), keys (cache/keys.py) and the in-memory store (cache/stores.py)."""

from __future__ import annotations

import asyncio

import pytest

from cache import keys
from cache.directives import Freshness
from cache.entries import PASS, Entry, Undecodable, decode, encode
from cache.stores import MemoryStore

F = Freshness(60.0, 2.0, 5.0, 30.0, False, False)


def entry(body: bytes = b"hello", tags: tuple[str, ...] = ()) -> Entry:
    headers = ((b"content-type", b"text/plain"), (b"etag", b'"e"'))
    return Entry(200, headers, body, 1000.0, F, ((b"accept-language", b"en"),), b'"e"', b"", tags)


def test_an_entry_survives_its_bytes_compressed_or_not() -> None:
    for body, compressed in ((b"short", False), (b"a" * 10_000, True)):
        value = encode(entry(body), compress_above=4096)
        assert (len(value) < len(body)) is compressed
        back = decode(value)
        assert back == entry(body)  # (tags are not part of the value: the store keeps them in its index)
        assert value[4:17] == b"%013d" % int(back.fresh_until * 1000)  # what the Lua script reads


def test_bytes_that_are_not_an_entry_do_not_decode() -> None:
    for value in (b"", PASS, b"GWC1" + b"0" * 13 + b"short", encode(entry(b"a" * 9000), 10)[:-5]):
        with pytest.raises(Undecodable):
            decode(value)


def test_keys_sort_the_query_drop_ignored_parameters_and_hash_long_targets() -> None:
    q = keys.normalized_query(b"b=2&utm_source=x&a=1&fbclid=y&a=0", frozenset({b"fbclid"}), (b"utm_",))
    assert q == b"a=1&a=0&b=2"
    key = keys.entry_key("r3", "/p", q, "api.example.com", "")
    assert key == "gwc:{r3}:/p?a=1&a=0&b=2 api.example.com"
    assert keys.path_of(keys.entry_key("r3", "/p/x", b"", "h", "abc")) == ("r3", "/p/x")
    long = keys.entry_key("r3", "/" + "x" * 5000, b"", "h", "")
    assert len(long) < 1200 and keys.path_of(long)[1].startswith("/xxx")
    assert keys.glob_escape("/a*b?[c]") == "/a\\*b\\?\\[c\\]"


def test_the_memory_store_evicts_the_least_recently_used_and_purges_by_route_prefix_and_tag() -> None:
    now = [1000.0]
    store = MemoryStore(max_bytes=3 * entry().size, clock=lambda: now[0])
    a, b, c = (keys.entry_key("r1", p, b"", "h", "") for p in ("/a", "/b/1", "/b/2"))
    store.put(a, entry(), 60, b"", "/p h", 0.0)
    store.put(b, entry(tags=("t",)), 60, b"", "/p h", 0.0)
    store.put(c, entry(), 60, b"", "/p h", 0.0)
    asyncio.run(store.lookup(a, 0, b"", now[0]))  # a is used: b is now the oldest
    store.put(keys.entry_key("r2", "/b/3", b"", "h", ""), entry(), 60, b"", "/p h", 0.0)
    assert b not in store.items and a in store.items and store.by_tag == {}
    assert store.purge(route="r1", prefix="/b/") == 1
    store.put(b, entry(tags=("t",)), 60, b"", "/p h", 0.0)
    assert store.purge(tag="t") == 1 and store.purge(route="r2") == 1 and list(store.items) == [a]
    now[0] += 61
    assert asyncio.run(store.lookup(a, 0, b"", now[0])) == (None, True) and not store.items
