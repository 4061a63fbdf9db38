"""Keyed pseudonyms for personal fields (consumer, client IP, actor).

``pseudonym(value)`` is stable for one key, so erased records of one subject still group together,
and cannot be reversed without the key. A pseudonym is recognisable by its prefix, so the chain
seals a field the same way before and after erasure (``sealed``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings

PREFIX = "pseud:"


def _key() -> bytes:
    return settings.GATEWAY_AUDIT_PSEUDONYM_KEY.encode()


def pseudonym(value: str) -> str:
    if not value or value.startswith(PREFIX):
        return value
    digest = hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def sealed(value: str) -> str:
    """The form of a personal field the chain hashes: its pseudonym, whether erased or not."""
    return pseudonym(value)


def sealed_value(value: Any) -> Any:
    """A personal value inside event data (a name, a metadata dict), as the chain seals it: empty
    values as they are, pseudonyms as they are, anything else as the pseudonym of its JSON form."""
    if value in (None, "", {}, []):
        return value
    if isinstance(value, str) and value.startswith(PREFIX):
        return value
    return pseudonym(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))


def sealed_data(data: Any, keys: Sequence[str]) -> Any:
    """``{"before": {...}, "after": {...}}`` of a configuration event with ``keys`` sealed in both."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for side in ("before", "after"):
        values = out.get(side)
        if isinstance(values, dict):
            out[side] = {k: sealed_value(v) if k in keys else v for k, v in values.items()}
    return out
