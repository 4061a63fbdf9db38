"""The RFC 9111 rules of cache/directives.py, with time moved by hand."""

from __future__ import annotations

import pytest

from cache.directives import (
    FRESH,
    STALE,
    STALE_OK,
    Freshness,
    NotStorable,
    check_storable,
    etag_matches,
    freshness,
    may_serve_stale_on_error,
    parse_cache_control,
    parse_request,
    usable,
)
from cache.entries import Entry

NOW = 1_800_000_000.0
DATE = b"Fri, 15 Jan 2027 08:00:00 GMT"  # 1_800_000_000


def fresh(cc: bytes = b"", expires: bytes = b"", age: bytes = b"", ttl: float = 60.0, sie: float = 0.0) -> Freshness:
    return freshness(parse_cache_control(cc), DATE, expires, age, NOW, NOW, ttl, sie)


def test_it_prefers_s_maxage_then_max_age_then_expires_then_the_routes_default() -> None:
    assert fresh(b"max-age=10, s-maxage=30").lifetime == 30
    assert fresh(b"max-age=10").lifetime == 10
    assert fresh(expires=b"Fri, 15 Jan 2027 08:01:40 GMT").lifetime == 100
    assert fresh(expires=b"0").lifetime == 0  # an invalid Expires means already expired
    assert fresh().lifetime == 60


def test_it_counts_the_age_a_response_arrived_with() -> None:
    assert fresh(b"max-age=10", age=b"4").initial_age == 4
    stored = Entry(200, (), b"", NOW, fresh(b"max-age=10", age=b"4"))
    assert usable(stored.age(NOW + 5), stored.freshness, parse_request(b"", b""), False) == FRESH  # 4 + 5 s
    assert usable(stored.age(NOW + 7), stored.freshness, parse_request(b"", b""), False) == STALE  # 4 + 7 s


def test_no_cache_must_revalidate_and_the_clients_rules_decide_staleness() -> None:
    rules = parse_request(b"", b"")
    assert usable(5.0, fresh(b"max-age=10"), rules, False) == FRESH
    assert usable(0.0, fresh(b"no-cache, max-age=10"), rules, True) == STALE
    assert usable(5.0, fresh(b"max-age=10"), parse_request(b"no-cache", b""), True) == STALE
    assert usable(5.0, fresh(b"max-age=10"), parse_request(b"", b"no-cache"), True) == STALE
    assert usable(5.0, fresh(b"max-age=10"), parse_request(b"max-age=3", b""), True) == STALE
    assert usable(5.0, fresh(b"max-age=10"), parse_request(b"min-fresh=6", b""), True) == STALE
    assert usable(15.0, fresh(b"max-age=10"), parse_request(b"max-stale=6", b""), True) == FRESH
    assert usable(15.0, fresh(b"max-age=10, must-revalidate"), parse_request(b"max-stale", b""), True) == STALE


def test_stale_while_revalidate_and_stale_if_error_windows() -> None:
    f = fresh(b"max-age=10, stale-while-revalidate=5, stale-if-error=20")
    rules = parse_request(b"", b"")
    assert usable(14.0, f, rules, False) == STALE_OK
    assert usable(16.0, f, rules, False) == STALE
    assert may_serve_stale_on_error(29.0, f, rules) and not may_serve_stale_on_error(31.0, f, rules)
    assert not may_serve_stale_on_error(11.0, fresh(b"max-age=10"), rules)
    assert may_serve_stale_on_error(11.0, fresh(b"max-age=10", sie=5), rules)  # the route's default
    assert not may_serve_stale_on_error(11.0, fresh(b"max-age=10, must-revalidate", sie=5), rules)


@pytest.mark.parametrize(
    ("cc", "personal", "allowed", "cookie", "vary", "reason"),
    [
        (b"no-store", True, True, False, b"", "no-store"),
        (b"private", False, True, False, b"", "private"),
        (b"private", True, False, False, b"", "private"),
        (b"max-age=5", False, True, True, b"", "set-cookie"),
        (b"max-age=5", True, True, False, b"Accept, *", "vary-star"),
    ],
)
def test_what_a_shared_cache_never_stores(
    cc: bytes, personal: bool, allowed: bool, cookie: bool, vary: bytes, reason: str
) -> None:
    with pytest.raises(NotStorable, match=reason):
        check_storable(parse_cache_control(cc), personal, allowed, cookie, vary)


def test_private_and_cookies_are_stored_only_for_one_caller_when_the_route_allows() -> None:
    check_storable(parse_cache_control(b'private, no-cache="set-cookie"'), True, True, True, b"Accept")


def test_etags_compare_weakly() -> None:
    assert etag_matches(b'"a", W/"b"', b'"b"') and etag_matches(b"*", b'"x"')
    assert not etag_matches(b'"a"', b'"b"') and not etag_matches(b'"a"', b"")
