"""What a request asks of the cache, read in one pass over its headers: its key, the client's rules,
who the entry would be for, and whether it may use the cache at all.

Credentials decide sharing. On a route with authentication the gateway checked the caller, so the
entry is that consumer's (or everyone's with ``cache_shared``). Credentials the gateway did not check
(an ``Authorization`` on a route without authentication, any ``Cookie``) may select a personalised
answer: such requests bypass the cache unless the route has ``cache_credentials``, and then their
entries are keyed by a hash of those credentials, so nobody else is ever served them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cache import keys
from cache.compile import CacheSpec
from cache.directives import NO_RULES, RequestRules, parse_request
from proxy.exchange import Exchange

# The client's conditionals the cache answers itself (from an entry) rather than forwarding.
ANSWERED_CONDITIONALS = frozenset({b"if-none-match", b"if-modified-since"})
# Requests with these are passed through untouched: partial or write-guarded answers are not cached.
PASSED = frozenset({b"range", b"if-range", b"if-match", b"if-unmodified-since"})


@dataclass(slots=True)
class Asked:
    key: str = ""
    uri: str = ""  # what a write to this path invalidates (cache.keys.uri)
    rules: RequestRules = NO_RULES
    personal: bool = False  # the key names one caller
    if_none_match: bytes = b""
    if_modified_since: bytes = b""
    bypass: str = ""  # why the cache is not used for this request ("" : it is)


def header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes:
    """All values of ``name``, joined as one field value."""
    values = [v for n, v in headers if n == name]
    return values[0] if len(values) == 1 else b", ".join(values)


def read(exchange: Exchange, spec: CacheSpec, authenticated: bool) -> Asked:
    asked = Asked()
    cache_control = pragma = authorization = cookie = b""
    vary = spec.vary
    chosen: dict[bytes, list[bytes]] | None = {} if vary else None
    for name, value in exchange.headers:
        if name == b"cache-control":
            cache_control = cache_control + b"," + value if cache_control else value
        elif name == b"authorization":
            authorization = value
        elif name == b"cookie":
            cookie = cookie + b"; " + value if cookie else value
        elif name == b"pragma":
            pragma = value
        elif name == b"if-none-match":
            asked.if_none_match = value
        elif name == b"if-modified-since":
            asked.if_modified_since = value
        elif name in PASSED:
            asked.bypass = name.decode()
            return asked
        if chosen is not None and name in vary:
            chosen.setdefault(name, []).append(value)
    if cache_control or pragma:
        asked.rules = parse_request(cache_control, pragma)
    parts: list[bytes] = []
    if chosen is not None:
        parts = [b", ".join(chosen.get(name, ())) for name in vary]
    identity = exchange.identity
    checked = authenticated and identity is not None
    if (authorization and not checked) or cookie:
        if not spec.credentials:
            asked.bypass = "credentials"
            return asked
        parts.append(b"a" + authorization + b"\x00" + cookie)
        asked.personal = True
    if checked and not spec.shared:
        assert identity is not None
        parts.append(b"c" + (identity.consumer_id or "s:" + identity.subject).encode())
        asked.personal = True
    query = exchange.query
    if query:
        query = keys.normalized_query(query, spec.ignore_query, spec.ignore_query_prefixes)
    asked.key = keys.entry_key(
        spec.route_key, exchange.path, query, exchange.host, keys.variant(parts) if parts else ""
    )
    asked.uri = keys.uri(exchange.path, exchange.host)
    return asked


def vary_matches(exchange: Exchange, stored: Sequence[tuple[bytes, bytes]]) -> bool:
    """The request has the same values as the one an entry was stored for, for each header its Vary named."""
    return all(header(exchange.headers, name) == value for name, value in stored)
