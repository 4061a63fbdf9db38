"""Keyed pseudonyms for personal fields (consumer, client IP, actor).

``pseudonym(value)`` is stable for one key, so erased records of one subject still group together,
and cannot be reversed without the key. A pseudonym is recognisable by its prefix, so the chain
seals a field the same way before and after erasure (``sealed``).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

PREFIX = "pseud:"


def _key() -> bytes:
    return settings.GATEWAY_AUDIT_PSEUDONYM_KEY.encode()


def pseudonym(value: str) -> str:
    if not value or value.startswith(PREFIX):
        return value
    digest = hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)


def sealed(value: str) -> str:
    """The form of a personal field the chain hashes: its pseudonym, whether erased or not."""
    return pseudonym(value)
