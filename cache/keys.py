"""Cache keys: readable where a purge needs them, hashed where they hold a caller's data.

    gwc:{<route>}:<path>[?<query>] <host>[ <variant>]

``<route>`` is ``r<route id>`` (a stable id, never a config version), so a purge by route is a SCAN of
``gwc:{r12}:*`` and a purge by prefix a SCAN of the paths below it. The braces are a Redis Cluster hash
tag: an entry and its lock (``gwc-lock:{r12}:...``) share a slot, so one script may touch both, and a
route's entries spread over the cluster with the routes. ``<path>`` is the path the client
asked for, percent-encoding kept, and ``<query>`` its parameters minus the ignored ones, sorted by
name (a stable sort: repeated names keep their order). A space cannot occur in a request target, so
it separates the host and the variant: a short hash of the route's vary headers' values and of who
the entry is for (a consumer, or the credentials a request carried), never the values themselves.

    gwc-uri:<path> <host>    the keys of every entry stored for that path (any route, query, variant,
                             consumer): what a write to the path invalidates (RFC 9111 4.4)
    gwc-gone:<path> <host>   when it was last invalidated (epoch ms): a fill that asked its backend
                             before then does not store its answer

Their ``<path>`` is normalized (percent-encoding of unreserved characters decoded, hex digits in
upper case), so a ``Location`` spelled differently from the request still names the same path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

PREFIX = "gwc:"
LOCK_PREFIX = "gwc-lock:"
TAG_PREFIX = "gwc-tag:"
URI_PREFIX = "gwc-uri:"
GONE_PREFIX = "gwc-gone:"
LONGEST_TARGET = 1024  # longer path+query: the rest is hashed (prefix purges see the first 1024 characters)


def route_key(route_id: int) -> str:
    return f"r{route_id}"


def normalized_query(query: bytes, ignored: frozenset[bytes], ignored_prefixes: tuple[bytes, ...]) -> bytes:
    if not ignored and not ignored_prefixes and b"&" not in query:
        return query
    kept = []
    for part in query.split(b"&"):
        if not part:
            continue
        name = part.split(b"=", 1)[0]
        if name in ignored or (ignored_prefixes and name.startswith(ignored_prefixes)):
            continue
        kept.append((name, part))
    kept.sort(key=lambda item: item[0])
    return b"&".join(part for _, part in kept)


def variant(parts: Iterable[bytes]) -> str:
    return hashlib.blake2b(b"\x00".join(parts), digest_size=9).hexdigest()


def entry_key(route: str, path: str, query: bytes, host: str, variant_hash: str) -> str:
    target = f"{path}?{query.decode('latin-1')}" if query else path
    if len(target) > LONGEST_TARGET:
        digest = hashlib.blake2b(target.encode("latin-1"), digest_size=12).hexdigest()
        target = f"{target[:LONGEST_TARGET]}~{digest}"
    key = f"{PREFIX}{{{route}}}:{target} {host}"
    return f"{key} {variant_hash}" if variant_hash else key


def uri(path: str, host: str) -> str:
    """What a write invalidates and every entry of ``path`` on ``host`` is indexed under."""
    if "%" in path:
        path = _PERCENT.sub(_normalized_escape, path)
    if len(path) > LONGEST_TARGET:
        digest = hashlib.blake2b(path.encode("latin-1", "replace"), digest_size=12).hexdigest()
        path = f"{path[:LONGEST_TARGET]}~{digest}"
    return f"{path} {host}"


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalized_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def uri_key(uri_: str, route: str = "") -> str:
    """The index of ``uri_``'s entries: of every route, or (on a Redis Cluster) of ``route``'s, in its slot."""
    return f"{URI_PREFIX}{{{route}}}:{uri_}" if route else URI_PREFIX + uri_


def gone_key(uri_: str, route: str = "") -> str:
    return f"{GONE_PREFIX}{{{route}}}:{uri_}" if route else GONE_PREFIX + uri_


def lock_key(key: str) -> str:
    return LOCK_PREFIX + key.removeprefix(PREFIX)


def tag_key(tag: str) -> str:
    return TAG_PREFIX + tag


def path_of(key: str) -> tuple[str, str]:
    """``(route, path)`` of an entry key, for purges by prefix."""
    rest = key.removeprefix(PREFIX)
    route, _, target = rest.partition(":")
    return route.strip("{}"), target.split(" ", 1)[0].split("?", 1)[0]


def glob_escape(text: str) -> str:
    """``text`` literally in a Redis MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
