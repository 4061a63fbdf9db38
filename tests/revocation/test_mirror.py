"""Each process's copy of the revocations follows Redis: loaded whole at start, each published change
applied at once, a missed change caught by the version poll."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from proxy.auth.revocation import TokenMark, denylist
from proxy.redis_clients import sync_client
from revocation import store
from revocation.mirror import Mirror

pytestmark = pytest.mark.needs_redis


def clear() -> None:
    client = sync_client()
    keys = list(client.scan_iter(match=store.PREFIX + "*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    clear()
    denylist.replace({}, {})
    yield
    clear()
    denylist.replace({}, {})


def jti(value: str, ttl: float = 60) -> store.Entry:
    return store.Entry("jti", value, "", 0.0, time.time() + ttl)


def marked(value: str) -> TokenMark:
    return TokenMark(jti=value, issuer="i", subject="s", issued_at=1.0)


def test_entries_are_stored_with_the_tokens_remaining_lifetime() -> None:
    store.write(sync_client(), [jti("a", ttl=30), store.Entry("subject", "ann", "i", 5.0, time.time() + 90)])

    client = sync_client()
    assert 29_000 < client.pttl(store.JTI + "a") <= 30_000
    assert 89_000 < client.pttl(store.SUBJECT + json.dumps(["i", "ann"], separators=(",", ":"))) <= 90_000
    assert int(client.get(store.VERSION)) >= 1


async def test_a_reload_takes_everything_redis_holds_and_drops_what_it_no_longer_holds() -> None:
    denylist.add_jti("stale", time.time() + 60)
    store.write(sync_client(), [jti("a"), store.Entry("subject", "ann", "", 5.0, time.time() + 60)])
    mirror = Mirror()

    await mirror.reload()

    assert set(denylist.jtis) == {"a"} and ("", "ann") in denylist.subjects
    assert mirror.version == int(sync_client().get(store.VERSION))
    await mirror.stop()


async def test_a_published_change_is_applied_in_order_and_a_gap_asks_for_a_reload() -> None:
    mirror = Mirror()
    await mirror.reload()
    version = mirror.version or 0

    assert mirror.apply(json.dumps({"version": version + 1, "add": [jti("b").as_list()], "remove": []}))
    assert denylist.revoked(marked("b"))
    assert not mirror.apply(json.dumps({"version": version + 5, "add": [], "remove": [jti("b").as_list()]}))
    assert not denylist.revoked(marked("b"))  # applied anyway; the caller reloads to be sure
    assert not mirror.apply("not json")
    await mirror.stop()


async def test_a_subscribed_process_refuses_a_new_revocation_well_within_a_second() -> None:
    mirror = Mirror()
    listening = asyncio.create_task(mirror.listen())
    try:
        while not mirror.subscribed:
            await asyncio.sleep(0.01)
        written = time.perf_counter()
        await asyncio.get_running_loop().run_in_executor(None, lambda: store.write(sync_client(), [jti("c")]))
        while not denylist.revoked(marked("c")):
            assert time.perf_counter() - written < 1.0
            await asyncio.sleep(0.001)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await mirror.stop()


async def test_without_a_subscription_the_version_poll_catches_the_change(settings: object) -> None:
    settings.GATEWAY_JWT_REVOCATION_POLL_INTERVAL = 0.05  # type: ignore[attr-defined]
    mirror = Mirror()
    await mirror.reload()
    polling = asyncio.create_task(mirror.poll())
    try:
        store.write(sync_client(), [jti("d")])  # nobody listens to the channel
        deadline = time.monotonic() + 1.0
        while not denylist.revoked(marked("d")):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await mirror.stop()
