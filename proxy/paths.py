"""How a request path is read for route matching: one key per path, so no variant of a path a route
protects can fall to a less protected route (docs/proxying.md, "Path variants").

Backends disagree on what a path means: some fold case, Java servers drop ``;parameters``, many
decode ``%2F`` into ``/`` or merge ``//``, Windows drops trailing dots. The gateway therefore
matches every variant of a path as that path, and refuses what it cannot read one way only:

- refused (400 ``invalid_path``): a target that does not start with ``/``; control bytes (0x00-0x1F,
  0x7F), raw or percent-encoded; an encoded ``/`` or ``\\`` (``%2F``, ``%5C``) and a raw ``\\``;
  a malformed escape (``%zz``); ``.`` and ``..`` segments, encoded or not, and segments of dots and
  spaces only;
- ignored for matching: ASCII case, ``;parameters`` of a segment (after a raw ``;`` or ``%3B``),
  empty segments (``//``), trailing dots and spaces of a segment; other escapes are decoded
  (``%70rivate`` is ``private``).

The key only decides the route. The backend receives the path as the client sent it (minus the
route's prefix, cut after the same number of segments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from proxy.errors import BadRequest

# Characters that send a path down the slow walk (with "//", "./" and a trailing "."); the common
# path has none. A character class: alternatives in one pattern cost twice as much per request.
_SUSPECT = re.compile(r"[%;\\\x00-\x20\x7f-\uffff]")
_RAW_REFUSED = re.compile(r"[\\\x00-\x20\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DECODED_REFUSED = re.compile(r"[/\\\x00-\x1f\x7f]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(slots=True)  # not frozen: a frozen dataclass costs three times as much to build, per request
class RequestPath:
    raw: str  # as sent (latin-1 text of the raw bytes)
    key: str  # what routes are matched against
    ends: tuple[int, ...] | None  # where each key segment ends in ``raw``; None when key and raw align

    def raw_after(self, segments: int, key_length: int) -> str:
        """The raw path after the first ``segments`` key segments (``key_length`` characters of the key)."""
        if self.ends is None:
            return self.raw[key_length:]
        if segments == 0:
            return self.raw
        return self.raw[self.ends[segments - 1] :]


def read_path(raw: str) -> RequestPath:
    """The path's matching key, or ``BadRequest`` (400 ``invalid_path``)."""
    if not raw.startswith("/"):
        raise BadRequest("The request target must be a path starting with '/'.", reason="invalid_path")
    if _SUSPECT.search(raw) is None and "//" not in raw and "./" not in raw and raw[-1] != ".":
        return RequestPath(raw, raw.lower(), None)
    if _RAW_REFUSED.search(raw):
        raise BadRequest("The path holds a control byte, a space or a backslash.", reason="invalid_path")
    keys: list[str] = []
    ends: list[int] = []
    start = 1
    for segment in raw[1:].split("/"):
        end = start + len(segment)
        # The whole segment is checked, parameters included; a ';' decoded from %3B starts them too
        # (a backend that decodes before it cuts parameters reads it so).
        name = _decode(segment).partition(";")[0]
        if name in (".", ".."):
            raise BadRequest("Paths with '.' or '..' segments are refused.", reason="invalid_path")
        trimmed = name.rstrip(". ")
        if name and not trimmed:
            raise BadRequest("Path segments of only dots and spaces are refused.", reason="invalid_path")
        if trimmed:
            keys.append(trimmed.translate(_ASCII_LOWER))
            ends.append(end)
        start = end + 1
    return RequestPath(raw, "/" + "/".join(keys), tuple(ends))


def key_of(prefix: str) -> str:
    """A route prefix as a key (``ValueError`` when no request path could ever match it)."""
    try:
        return read_path(prefix).key
    except BadRequest as exc:
        raise ValueError(exc.detail) from None


def _decode(name: str) -> str:
    if "%" not in name:
        return name
    if _BAD_ESCAPE.search(name):
        raise BadRequest("The path holds a malformed percent-escape.", reason="invalid_path")
    decoded = unquote_to_bytes(name).decode("latin-1")
    if _DECODED_REFUSED.search(decoded):
        raise BadRequest(
            "The path holds an encoded control byte, slash or backslash (such as %00 or %2F).", reason="invalid_path"
        )
    return decoded
