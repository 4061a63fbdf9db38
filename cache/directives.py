"""HTTP caching rules (RFC 9111) as pure functions: no I/O, no clock of their own (``now`` is passed in).

    request  --parse_request-->  RequestRules   (what the client allows: no-cache, max-age, min-fresh, ...)
    response --freshness------>  Freshness      (lifetime, stale windows, validators), computed once, at store
    Freshness + now + RequestRules --usable-->  FRESH | STALE_OK (stale-while-revalidate) | STALE

Everything a hit needs is computed when a response is stored, so serving one is arithmetic on stored
numbers; parsing happens on the miss path only. hishel's sans-I/O state machine decides the same
things but cost ~31 µs per hit and ~17 µs per miss here (its models are built per request), more
than the whole budget of a miss; the rules below are the subset a shared cache in a gateway needs.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

Directives = dict[bytes, bytes | None]

FRESH, STALE_OK, STALE = 0, 1, 2

# Response headers a shared cache drops before storing or that each answer sets anew.
NOT_STORED = frozenset({b"x-request-id", b"age", b"set-cookie"})
# The statuses RFC 5861 calls errors, for stale-if-error.
ERROR_STATUSES = frozenset({500, 502, 503, 504})


def parse_cache_control(value: bytes) -> Directives:
    """``max-age=60, no-cache="set-cookie", private`` -> ``{b"max-age": b"60", b"no-cache": b"set-cookie", ...}``.
    Names are lower-cased; a directive given twice keeps its first value (RFC 9111 4.2.1)."""
    found: Directives = {}
    for part in value.split(b","):
        name, eq, arg = part.strip().partition(b"=")
        if not name:
            continue
        name = name.strip().lower()
        if name not in found:
            found[name] = arg.strip().strip(b'"') if eq else None
    return found


def seconds(directives: Directives, name: bytes) -> int | None:
    """A delta-seconds argument; None when absent or malformed (a malformed one counts as absent)."""
    raw = directives.get(name)
    if raw is None or not raw.isdigit():
        return None
    return min(int(raw), 2**31)


_dates: dict[bytes, float | None] = {}


def http_date(value: bytes) -> float | None:
    """An HTTP date as epoch seconds (None if unparsable). Backends send the same Date all second long,
    so answers are remembered (a small, bounded table)."""
    found = _dates.get(value, -1.0)
    if found != -1.0:
        return found
    try:
        parsed: float | None = email.utils.parsedate_to_datetime(value.decode("latin-1")).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if len(_dates) >= 256:
        _dates.clear()
    _dates[value] = parsed
    return parsed


@dataclass(frozen=True, slots=True)
class RequestRules:
    """The client's Cache-Control (and Pragma): what it accepts from the cache."""

    no_cache: bool = False  # revalidate before using a stored answer
    no_store: bool = False  # do not store the answer to this request
    max_age: int | None = None  # accept answers at most this old
    min_fresh: int = 0  # ... that stay fresh at least this long
    max_stale: int | None = None  # accept answers stale by up to this (-1: any)
    only_if_cached: bool = False
    stale_if_error: int | None = None


NO_RULES = RequestRules()


def parse_request(cache_control: bytes, pragma: bytes) -> RequestRules:
    if not cache_control:
        return RequestRules(no_cache=b"no-cache" in pragma.lower()) if pragma else NO_RULES
    d = parse_cache_control(cache_control)
    max_stale = -1 if b"max-stale" in d and d[b"max-stale"] is None else seconds(d, b"max-stale")
    max_age = seconds(d, b"max-age")
    return RequestRules(
        no_cache=b"no-cache" in d or max_age == 0,
        no_store=b"no-store" in d,
        max_age=max_age,
        min_fresh=seconds(d, b"min-fresh") or 0,
        max_stale=max_stale,
        only_if_cached=b"only-if-cached" in d,
        stale_if_error=seconds(d, b"stale-if-error"),
    )


@dataclass(frozen=True, slots=True)
class Freshness:
    """What a stored answer's headers say about its use, computed when it is stored."""

    lifetime: float  # seconds it is fresh for, counted from its age 0
    initial_age: float  # its age when stored (RFC 9111 4.2.3, corrected)
    stale_while_revalidate: float
    stale_if_error: float
    must_revalidate: bool  # never used stale (must-revalidate, proxy-revalidate, s-maxage)
    no_cache: bool  # revalidated before every use


class NotStorable(Exception):
    """Why an answer is not stored, as the Cache-Status ``detail`` shows it."""


def freshness(
    cc: Directives,
    date: bytes,
    expires: bytes,
    age: bytes,
    request_time: float,
    response_time: float,
    default_ttl: float,
    default_stale_if_error: float,
) -> Freshness:
    """The lifetime and windows of a response (RFC 9111 4.2.1, 4.2.3, RFC 5861): ``s-maxage``, then
    ``max-age``, then ``Expires - Date``, else the route's default TTL."""
    lifetime: float
    s_maxage = seconds(cc, b"s-maxage")
    max_age = seconds(cc, b"max-age")
    date_value = http_date(date) if date else None
    if s_maxage is not None:
        lifetime = s_maxage
    elif max_age is not None:
        lifetime = max_age
    elif expires:
        expires_at = http_date(expires)
        # An invalid Expires (such as "0") means already expired.
        lifetime = max(0.0, expires_at - (date_value or response_time)) if expires_at is not None else 0.0
    else:
        lifetime = default_ttl
    age_value = int(age) if age.isdigit() else 0
    apparent = max(0.0, response_time - date_value) if date_value is not None else 0.0
    corrected = age_value + (response_time - request_time)
    no_cache = b"no-cache" in cc and cc[b"no-cache"] is None  # no-cache="field" only limits fields
    swr = seconds(cc, b"stale-while-revalidate")
    sie = seconds(cc, b"stale-if-error")
    return Freshness(
        lifetime=0.0 if no_cache else float(lifetime),
        initial_age=max(apparent, corrected),
        stale_while_revalidate=float(swr or 0),
        stale_if_error=float(sie if sie is not None else default_stale_if_error),
        must_revalidate=b"must-revalidate" in cc or b"proxy-revalidate" in cc or s_maxage is not None,
        no_cache=no_cache,
    )


def check_storable(cc: Directives, personal: bool, credentials_allowed: bool, sets_cookie: bool, vary: bytes) -> None:
    """Raise ``NotStorable`` unless a shared cache may store this answer (RFC 9111 3).

    ``personal``: the entry's key names one caller (a consumer, or a hash of the credentials the
    request carried). ``private`` and ``Set-Cookie`` answers are only ever stored under such a key,
    and only when the route allows it (``credentials_allowed``)."""
    if b"no-store" in cc:
        raise NotStorable("no-store")
    if b"private" in cc and cc[b"private"] is None and not (personal and credentials_allowed):
        raise NotStorable("private")
    if sets_cookie and not (personal and credentials_allowed):
        raise NotStorable("set-cookie")
    if vary.strip() == b"*" or b"*" in (part.strip() for part in vary.split(b",")):
        raise NotStorable("vary-star")


def usable(age: float, f: Freshness, rules: RequestRules, has_validators: bool) -> int:
    """FRESH: serve it. STALE_OK: serve it and revalidate in the background (stale-while-revalidate).
    STALE: revalidate (or fetch again) before answering."""
    if f.no_cache or rules.no_cache:
        return STALE
    if rules.max_age is not None and age > rules.max_age:
        return STALE
    remaining = f.lifetime - age
    if remaining > rules.min_fresh:
        return FRESH
    if remaining > 0 or f.must_revalidate:  # still fresh, but not for as long as the client wants
        return STALE
    if rules.max_stale is not None and (rules.max_stale < 0 or -remaining <= rules.max_stale):
        return FRESH  # the client accepts it this stale
    if -remaining <= f.stale_while_revalidate:
        return STALE_OK
    return STALE


def may_serve_stale_on_error(age: float, f: Freshness, rules: RequestRules) -> bool:
    """stale-if-error (the response's, the request's, or the route's default), never past must-revalidate."""
    if f.must_revalidate or f.no_cache:
        return False
    window = f.stale_if_error if rules.stale_if_error is None else max(f.stale_if_error, rules.stale_if_error)
    return age - f.lifetime <= window


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Weak comparison (RFC 9110 13.1.2), for a client's If-None-Match against a stored ETag."""
    if not etag:
        return False
    if if_none_match.strip() == b"*":
        return True
    mine = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == mine for tag in if_none_match.split(b","))
