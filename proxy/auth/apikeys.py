"""API keys: ``gw_<prefix>_<secret>``, stored only as HMAC-SHA256(pepper, key).

The public prefix finds the record in memory; ``hmac.compare_digest`` on the keyed hash decides.
A lookup costs a few microseconds (a password hasher would cost ~100 ms per request).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from proxy.auth.config import KeyRecord

PREFIX_LENGTH = 8
_KEY_RE = re.compile(r"^gw_([0-9a-f]{8})_([A-Za-z0-9]{32})$")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # shown once, never stored
    prefix: str
    digest: str  # hex


def generate_key(pepper: bytes) -> NewKey:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(32))
    key = f"gw_{prefix}_{secret}"
    return NewKey(key=key, prefix=prefix, digest=digest(pepper, key).hex())


def digest(pepper: bytes, key: str) -> bytes:
    return hmac.new(pepper, key.encode(), hashlib.sha256).digest()


def looks_like_key(value: str) -> bool:
    return value.startswith("gw_")


class KeyRefused(Exception):
    """The key is malformed, unknown, revoked or expired; ``str()`` says which, for the 401 detail."""


def verify_key(value: str, keys: Mapping[str, KeyRecord], pepper: bytes, now: float | None = None) -> KeyRecord:
    match = _KEY_RE.match(value)
    if match is None:
        raise KeyRefused("The API key is malformed.")
    record = keys.get(match.group(1))
    # The hash is computed even for unknown prefixes, so timing does not tell them apart.
    computed = digest(pepper, value)
    if record is None or not hmac.compare_digest(computed, record.digest):
        raise KeyRefused("The API key is not valid (unknown or revoked).")
    if record.expires_at is not None and record.expires_at <= (now if now is not None else time.time()):
        raise KeyRefused("The API key has expired.")
    return record
