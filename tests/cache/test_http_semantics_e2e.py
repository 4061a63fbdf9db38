"""RFC 9111 through the real gateway to a real backend: what is stored, for whom, for how long, and what
every answer says about it. Runs on the in-memory store, or on Redis when REDIS_URL is set."""

from __future__ import annotations

import time

from tests.cache.conftest import Origin, cached_route
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess


def test_a_second_request_is_a_hit_with_age_and_cache_status_and_no_backend_call(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-hit")
    first = get(gateway, "/sem-hit/a?cc=max-age%3D60")
    time.sleep(1.1)
    second = get(gateway, "/sem-hit/a?cc=max-age%3D60", {"X-Request-ID": "mine-1"})
    assert (first.status, second.status) == (200, 200)
    assert first.header("x-cache-status") == "MISS" and first.header("age") == "0"
    assert first.header("cache-status") == "gateway; fwd=uri-miss; stored"
    assert second.header("x-cache-status") == "HIT" and second.body == first.body
    assert (second.header("cache-status") or "").startswith("gateway; hit; ttl=5")
    assert int(second.header("age") or "0") >= 1
    assert second.header("x-request-id") == "mine-1"  # the request's own id, not the stored one
    assert origin.count("/a") == 1


def test_head_is_answered_from_the_get_entry_without_a_body(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    from tests.support.http import call

    cached_route(config, origin, "/sem-head")
    full = get(gateway, "/sem-head/a?cc=max-age%3D60")
    head = call(gateway, "HEAD", "/sem-head/a?cc=max-age%3D60")
    assert head.status == 200 and head.body == b"" and head.header("x-cache-status") == "HIT"
    assert head.header("content-length") == str(len(full.body))
    assert origin.count("/a") == 1


def test_no_store_private_and_set_cookie_answers_are_never_served_from_the_cache(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-never")
    for query, reason in (("cc=no-store", "no-store"), ("cc=private%2C+max-age%3D60", "private"),
                          ("cc=max-age%3D60&cookie=1", "set-cookie")):  # fmt: skip
        replies = [get(gateway, f"/sem-never/{reason}?{query}") for _ in range(3)]
        assert [r.header("x-cache-status") for r in replies] == ["MISS"] * 3, reason
        assert len({r.body for r in replies}) == 3, reason  # each one the backend's own
        assert all(f"detail={reason}" in (r.header("cache-status") or "") for r in replies)
        assert origin.count(f"/{reason}") == 3


def test_requests_with_credentials_bypass_the_cache_and_never_get_someone_elses_answer(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-creds")
    public = get(gateway, "/sem-creds/a?cc=max-age%3D60")
    assert public.header("x-cache-status") == "MISS"
    for header in ({"Authorization": "Bearer alice"}, {"Cookie": "session=alice"}):
        mine = get(gateway, "/sem-creds/a?cc=max-age%3D60", header)
        assert mine.header("x-cache-status") == "BYPASS"
        assert mine.header("cache-status") == "gateway; fwd=bypass; detail=credentials"
        assert "alice" in mine.body.decode()  # the backend's answer to this caller
    assert get(gateway, "/sem-creds/a?cc=max-age%3D60").body == public.body
    assert origin.count("/a") == 3


def test_a_route_caching_per_credential_keeps_each_callers_answer_to_that_caller(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-percred", cache_credentials=True)
    path = "/sem-percred/me?cc=private%2C+max-age%3D60&cookie=1"
    alice = [get(gateway, path, {"Authorization": "Bearer alice"}) for _ in range(2)]
    bob = [get(gateway, path, {"Authorization": "Bearer bob"}) for _ in range(2)]
    anonymous = get(gateway, path)
    assert [r.header("x-cache-status") for r in alice + bob] == ["MISS", "HIT", "MISS", "HIT"]
    assert "alice" in alice[1].body.decode() and "bob" in bob[1].body.decode()
    assert alice[1].header("set-cookie") and bob[1].header("set-cookie")
    # Nobody's key, so a private or cookie-setting answer is never stored for it.
    assert anonymous.header("x-cache-status") == "MISS" and "detail=private" in (anonymous.header("cache-status") or "")


def test_an_authenticated_route_caches_per_consumer_unless_shared(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    alice, bob = config.consumer("cache-alice"), config.consumer("cache-bob")
    _, alice_key = config.api_key(alice)
    _, bob_key = config.api_key(bob)
    service = config.service("sem-auth", targets=[origin.thread])
    config.route(service, "/sem-auth", cache_enabled=True, auth_mode="api_key")
    config.route(service, "/sem-shared", cache_enabled=True, auth_mode="api_key", cache_shared=True)
    config.sync()
    for prefix, bob_sees in (("/sem-auth", "MISS"), ("/sem-shared", "HIT")):
        path = f"{prefix}/x?cc=max-age%3D60"
        assert get(gateway, path).status == 401  # the cache never answers before auth
        first = get(gateway, path, {"Authorization": f"Bearer {alice_key}"})
        again = get(gateway, path, {"Authorization": f"Bearer {alice_key}"})
        other = get(gateway, path, {"Authorization": f"Bearer {bob_key}"})
        assert (first.header("x-cache-status"), again.header("x-cache-status")) == ("MISS", "HIT"), prefix
        assert other.header("x-cache-status") == bob_sees, prefix


def test_vary_keeps_variants_apart(config: ConfigHelper, gateway: GatewayProcess, origin: Origin) -> None:
    cached_route(config, origin, "/sem-vary")
    cached_route(config, origin, "/sem-vary2", cache_vary_headers="Accept-Language")
    for prefix, second_english in (("/sem-vary", "MISS"), ("/sem-vary2", "HIT")):
        path = f"{prefix}/v?cc=max-age%3D60&vary=Accept-Language"
        en = get(gateway, path, {"Accept-Language": "en"})
        fr = get(gateway, path, {"Accept-Language": "fr"})
        fr2 = get(gateway, path, {"Accept-Language": "fr"})
        en2 = get(gateway, path, {"Accept-Language": "en"})
        assert "'en'" in en.body.decode() and "'fr'" in fr.body.decode()
        assert "'fr'" in fr2.body.decode() and "'en'" in en2.body.decode()  # never the other language
        assert fr.header("x-cache-status") == "MISS" and fr2.header("x-cache-status") == "HIT"
        assert en2.header("x-cache-status") == second_english, prefix
    assert (get(gateway, "/sem-vary/star?cc=max-age%3D60&vary=%2A").header("cache-status") or "").endswith("vary-star")


def test_an_expired_entry_is_fetched_again(config: ConfigHelper, gateway: GatewayProcess, origin: Origin) -> None:
    cached_route(config, origin, "/sem-exp", cache_ttl=1)
    kept = "/sem-exp/d?lm=Wed%2C+21+Oct+2015+07%3A28%3A00+GMT"  # a validator: kept past expiry
    gone = "/sem-exp/e"  # none: dropped at expiry
    for path in (kept, gone):
        assert get(gateway, path).header("x-cache-status") == "MISS"  # the route's default TTL: 1 s
        assert get(gateway, path).header("x-cache-status") == "HIT"
    time.sleep(1.3)
    again = get(gateway, kept)
    assert again.header("x-cache-status") == "EXPIRED" and "#2" in again.body.decode()
    assert again.header("cache-status") == "gateway; fwd=stale; fwd-status=200; stored"
    assert get(gateway, kept).header("x-cache-status") == "HIT"
    assert get(gateway, gone).header("x-cache-status") == "MISS"
    assert (origin.count("/d"), origin.count("/e")) == (2, 2)


def test_a_stale_entry_with_an_etag_is_revalidated_and_refreshed_on_304(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-304")
    path = '/sem-304/r?cc=max-age%3D1&etag="v1"'
    first = get(gateway, path)
    time.sleep(1.3)
    revalidated = get(gateway, path)
    assert revalidated.status == 200 and revalidated.body == first.body
    assert revalidated.header("x-cache-status") == "REVALIDATED"
    assert revalidated.header("cache-status") == "gateway; fwd=stale; fwd-status=304; stored"
    assert get(gateway, path).header("x-cache-status") == "HIT"  # fresh again for max-age
    assert origin.count("/r") == 2
    # A client's no-cache revalidates even a fresh entry; its own If-None-Match gets a 304 from the entry.
    assert get(gateway, path, {"Cache-Control": "no-cache"}).header("x-cache-status") == "REVALIDATED"
    not_modified = get(gateway, path, {"If-None-Match": '"v1"'})
    assert not_modified.status == 304 and not_modified.header("etag") == '"v1"'
    assert origin.count("/r") == 3


def test_stale_if_error_answers_stale_while_the_backend_fails_or_is_down(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-sie")
    allowed = "/sem-sie/s?cc=max-age%3D1%2C+stale-if-error%3D60"
    strict = "/sem-sie/t?cc=max-age%3D1"
    good, _ = get(gateway, allowed), get(gateway, strict)
    time.sleep(1.3)
    origin.fail = True  # 503 from the backend
    stale = get(gateway, allowed)
    assert stale.status == 200 and stale.body == good.body and stale.header("x-cache-status") == "STALE"
    assert (stale.header("cache-status") or "").startswith("gateway; fwd=stale; fwd-status=503; detail=stale-if-error")
    failed = get(gateway, strict)  # no stale-if-error (nor a validator): gone at expiry, the backend's 503
    assert failed.status == 503 and failed.header("x-cache-status") == "MISS"
    origin.stop()  # now nothing listens: the gateway's own 502
    down = get(gateway, allowed)
    assert down.status == 200 and down.body == good.body and down.header("x-cache-status") == "STALE"
    unreachable = get(gateway, strict)
    unreachable.problem("upstream_unreachable")
    assert unreachable.header("x-cache-status") == "MISS"


def test_stale_while_revalidate_answers_stale_at_once_and_refreshes_behind(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-swr")
    path = "/sem-swr/w?cc=max-age%3D1%2C+stale-while-revalidate%3D30"
    get(gateway, path)
    time.sleep(1.3)
    origin.version = 2
    stale = get(gateway, path)
    assert stale.header("x-cache-status") == "STALE" and " v1 " in stale.body.decode()
    deadline = time.monotonic() + 5
    while " v2 " not in (fresh := get(gateway, path)).body.decode():
        assert time.monotonic() < deadline, fresh
        time.sleep(0.05)
    assert fresh.header("x-cache-status") == "HIT" and origin.count("/w") == 2


def test_purge_tags_are_stored_but_never_shown_to_clients(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-tags")
    replies = [get(gateway, "/sem-tags/p?cc=max-age%3D60&tag=product-1+catalog") for _ in range(2)]
    assert [r.header("x-cache-status") for r in replies] == ["MISS", "HIT"]
    assert not any(r.has("surrogate-key") for r in replies)


def test_bodies_over_the_largest_object_stream_through_uncached(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-big", cache_max_object_bytes=100_000)
    for path in ("/sem-big/b?cc=max-age%3D60&size=300000", "/sem-big/c?cc=max-age%3D60&size=300000&stream=1"):
        replies = [get(gateway, path) for _ in range(2)]
        assert all(r.status == 200 and len(r.body) == 300_000 for r in replies)
        assert [r.header("x-cache-status") for r in replies] == ["MISS", "MISS"], path
    small = [get(gateway, "/sem-big/s?cc=max-age%3D60&size=90000&stream=1") for _ in range(2)]
    assert [r.header("x-cache-status") for r in small] == ["MISS", "HIT"]  # streamed, kept, replayed
    assert small[1].body == small[0].body and small[1].header("content-length") == "90000"
    assert (origin.count("/b"), origin.count("/c"), origin.count("/s")) == (2, 2, 1)


def test_other_methods_and_uncached_routes_pass_through(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    from tests.support.http import call

    cached_route(config, origin, "/sem-post")
    service = config.service("sem-plain", targets=[origin.thread])
    config.route(service, "/sem-plain")
    config.sync()
    posted = call(gateway, "POST", "/sem-post/x?cc=max-age%3D60", body=b"{}")
    assert posted.header("x-cache-status") == "BYPASS"
    assert posted.header("cache-status") == "gateway; fwd=method; detail=invalidated"  # test_invalidation_e2e
    options = call(gateway, "OPTIONS", "/sem-post/x")
    assert options.header("cache-status") == "gateway; fwd=method"  # a safe method invalidates nothing
    plain = get(gateway, "/sem-plain/x?cc=max-age%3D60")
    assert not plain.has("x-cache-status") and not plain.has("cache-status")  # no cache step at all


def test_only_if_cached_answers_504_not_cached_with_the_cache_headers_when_nothing_usable_is_stored(
    config: ConfigHelper, gateway: GatewayProcess, origin: Origin
) -> None:
    cached_route(config, origin, "/sem-oic")
    only = {"Cache-Control": "only-if-cached"}
    for path in ("/sem-oic/a?cc=max-age%3D60", "/sem-oic/b?cc=max-age%3D1"):
        refused = get(gateway, path, only)
        assert refused.status == 504 and refused.problem("not_cached")
        assert refused.header("x-cache-status") == "MISS" and refused.header("age") == "0"
        assert refused.header("cache-status") == "gateway; detail=only-if-cached"
        get(gateway, path)
    assert get(gateway, "/sem-oic/a?cc=max-age%3D60", only).header("x-cache-status") == "HIT"
    time.sleep(1.1)
    stale = get(gateway, "/sem-oic/b?cc=max-age%3D1", only)  # stored, but no longer fresh
    assert stale.status == 504 and stale.header("cache-status") == "gateway; detail=only-if-cached"
    assert (origin.count("/a"), origin.count("/b")) == (1, 1)
