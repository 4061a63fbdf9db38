"""What the cache adds to every answer of a cached route, and the answers it makes from an entry.

``X-Cache-Status`` is one word; ``Cache-Status`` (RFC 9211) says the same for machines:

    HIT          gateway; hit; ttl=42
    STALE        gateway; hit; ttl=-3; detail=stale-while-revalidate   (revalidated in the background)
                 gateway; fwd=stale; fwd-status=503; ttl=-9; detail=stale-if-error
    MISS         gateway; fwd=uri-miss; stored   (fwd=vary-miss: another variant was stored)
    EXPIRED      gateway; fwd=stale; fwd-status=200; stored
    REVALIDATED  gateway; fwd=stale; fwd-status=304; stored
    BYPASS       gateway; fwd=bypass; detail=credentials   (or fwd=method; detail=store-unavailable, ...)
"""

from __future__ import annotations

import re

from django.conf import settings

from cache.directives import etag_matches, http_date
from cache.entries import Entry
from proxy.exchange import Exchange, Headers, Response

HIT, MISS, BYPASS, EXPIRED, STALE, REVALIDATED = "hit", "miss", "bypass", "expired", "stale", "revalidated"
STATUSES = (HIT, MISS, BYPASS, EXPIRED, STALE, REVALIDATED)
WORDS = {s: s.upper().encode() for s in STATUSES}
SERVED_FROM_CACHE = frozenset({HIT, STALE, REVALIDATED})
# What a 304 to the client carries of the entry's fields (RFC 9110 15.4.5).
NOT_MODIFIED_FIELDS = frozenset({b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary", b"via"})


def _cache_name() -> bytes:
    name = settings.GATEWAY_VIA_NAME
    if re.fullmatch(r"[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*", name):
        return name.encode()
    return b'"' + name.replace("\\", "\\\\").replace('"', '\\"').encode("latin-1", "replace") + b'"'


NAME = _cache_name()


def cache_status(*params: bytes) -> bytes:
    return b"; ".join((NAME, *params))


def marks(word: str, status: bytes, age: int | None = None) -> Headers:
    out: Headers = [(b"cache-status", status), (b"x-cache-status", WORDS[word])]
    if age is not None:
        out.append((b"age", b"%d" % age))
    return out


def mark_response(response: Response, word: str, status: bytes) -> Response:
    """A backend's answer (MISS, EXPIRED, BYPASS): the cache headers, and an Age of 0 unless the backend
    (or a cache behind it) gave one."""
    has_age = any(n == b"age" for n, _ in response.headers)
    response.headers.extend(marks(word, status, None if has_age else 0))
    return response


def from_entry(
    exchange: Exchange,
    entry: Entry,
    word: str,
    status: bytes,
    now: float,
    if_none_match: bytes = b"",
    if_modified_since: bytes = b"",
) -> Response:
    """The entry as this request's answer: its own request id, Age, and a 304 when the client's
    conditional matches."""
    age = int(entry.age(now))
    rid = (b"x-request-id", exchange.request_id.encode())
    if (
        (if_none_match or if_modified_since)
        and entry.status == 200
        and _not_modified(entry, if_none_match, if_modified_since)
    ):
        headers = [(n, v) for n, v in entry.headers if n in NOT_MODIFIED_FIELDS]
        headers.append(rid)
        headers.extend(marks(word, status, age))
        return Response(304, headers)
    headers = list(entry.headers)
    headers.append(rid)
    headers.extend(marks(word, status, age))
    return Response(entry.status, headers, b"" if exchange.method == "HEAD" else entry.body)


def _not_modified(entry: Entry, if_none_match: bytes, if_modified_since: bytes) -> bool:
    if if_none_match:  # If-Modified-Since is ignored when If-None-Match is present (RFC 9110 13.2.2)
        return etag_matches(if_none_match, entry.etag)
    since, modified = http_date(if_modified_since), http_date(entry.last_modified) if entry.last_modified else None
    return since is not None and modified is not None and modified <= since
