"""A stored answer (``Entry``) and its bytes in Redis.

    b"GWC1" | fresh until, epoch ms, 13 ASCII digits | fixed fields (struct) | headers | vary | validators | body

The fresh-until digits come first so the Lua script can tell a stale entry without decoding it (it
takes the refresh lock for a stale one in the same round trip as the read). Header blocks are
NUL-separated (a NUL cannot appear in an HTTP field). Bodies of at least
``GATEWAY_CACHE_COMPRESS_ABOVE`` bytes are stored zlib-compressed unless already content-encoded.
A value that does not decode is a miss, never an error.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace

from cache.directives import Freshness

Headers = tuple[tuple[bytes, bytes], ...]

MAGIC = b"GWC1"
PASS = b"PASS"  # "the last answer here was not storable": fetch without waiting on a lock
_FIXED = struct.Struct("!dddddHBIII")
_HEAD = len(MAGIC) + 13
MUST_REVALIDATE, NO_CACHE, COMPRESSED = 1, 2, 4


class Undecodable(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Entry:
    status: int
    headers: Headers  # as replayed: without the per-answer ones (X-Request-ID, Age) or Set-Cookie unless allowed
    body: bytes
    stored_at: float  # epoch seconds when the answer arrived
    freshness: Freshness
    vary: Headers = ()  # the request's values of the headers the answer's Vary names
    etag: bytes = b""
    last_modified: bytes = b""
    tags: tuple[str, ...] = ()  # purge tags (Surrogate-Key, Cache-Tag); not replayed

    def age(self, now: float) -> float:
        return self.freshness.initial_age + max(0.0, now - self.stored_at)

    @property
    def fresh_until(self) -> float:
        return self.stored_at + self.freshness.lifetime - self.freshness.initial_age

    @property
    def has_validators(self) -> bool:
        return bool(self.etag or self.last_modified)

    def refreshed(self, headers: Headers, freshness: Freshness, stored_at: float) -> Entry:
        """After a 304: its header fields replace the stored ones of the same name (RFC 9111 4.3.4)."""
        names = {name for name, _ in headers}
        kept = tuple((n, v) for n, v in self.headers if n not in names)
        merged = kept + headers
        etag = next((v for n, v in headers if n == b"etag"), self.etag)
        modified = next((v for n, v in headers if n == b"last-modified"), self.last_modified)
        return replace(
            self, headers=merged, freshness=freshness, stored_at=stored_at, etag=etag, last_modified=modified
        )

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(n) + len(v) + 4 for n, v in self.headers) + 200


def _join(pairs: Headers) -> bytes:
    return b"\x00".join(part for pair in pairs for part in pair)


def _split(blob: bytes) -> Headers:
    if not blob:
        return ()
    parts = blob.split(b"\x00")
    if len(parts) % 2:
        raise Undecodable("odd header block")
    return tuple(zip(parts[0::2], parts[1::2], strict=True))


def encode(entry: Entry, compress_above: int) -> bytes:
    body = entry.body
    f = entry.freshness
    flags = (MUST_REVALIDATE if f.must_revalidate else 0) | (NO_CACHE if f.no_cache else 0)
    if compress_above and len(body) >= compress_above and not any(n == b"content-encoding" for n, _ in entry.headers):
        packed = zlib.compress(body, 1)
        if len(packed) < len(body):
            body, flags = packed, flags | COMPRESSED
    headers, vary = _join(entry.headers), _join(entry.vary)
    validators = entry.etag + b"\x00" + entry.last_modified
    fixed = _FIXED.pack(
        entry.stored_at,
        f.lifetime,
        f.initial_age,
        f.stale_while_revalidate,
        f.stale_if_error,
        entry.status,
        flags,
        len(headers),
        len(vary),
        len(validators),
    )
    fresh_ms = b"%013d" % max(0, min(int(entry.fresh_until * 1000), 9_999_999_999_999))
    return b"".join((MAGIC, fresh_ms, fixed, headers, vary, validators, body))


def decode(value: bytes) -> Entry:
    if not value.startswith(MAGIC) or len(value) < _HEAD + _FIXED.size:
        raise Undecodable("not a cache entry")
    stored_at, lifetime, initial_age, swr, sie, status, flags, nh, nv, nd = _FIXED.unpack_from(value, _HEAD)
    at = _HEAD + _FIXED.size
    headers = _split(value[at : at + nh])
    at += nh
    vary = _split(value[at : at + nv])
    at += nv
    etag, _, modified = value[at : at + nd].partition(b"\x00")
    body = value[at + nd :]
    if flags & COMPRESSED:
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise Undecodable(str(exc)) from None
    freshness = Freshness(lifetime, initial_age, swr, sie, bool(flags & MUST_REVALIDATE), bool(flags & NO_CACHE))
    return Entry(status, headers, body, stored_at, freshness, vary, etag, modified)
