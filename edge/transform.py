"""Request and response transformations: headers, query parameters and the upstream path (the
backend's ``Location`` is ``edge.location``).

Headers run in a fixed order: remove, rename, set (replaces every field of that name), add (one
more field). Query parameters: remove (by decoded name), then add (``name=value``, the value
percent-encoded). The path rewrite is a regular expression with capture groups over the path the
backend would get: the first match is replaced (``\\1``, ``\\g<name>``), no match leaves the path alone.

Patterns are held to what runs in bounded time on Python's backtracking engine: at most
``MAX_PATTERN`` characters, no back-references, no repetition inside a repeated group, at most two
unbounded repetitions, and paths longer than ``MAX_REWRITTEN_PATH`` on such a route get 414.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from django.core.exceptions import ValidationError

from edge import headers as h
from edge import templates

MAX_PATTERN = 200
MAX_REWRITTEN_PATH = 1024
_QUERY_NAME_RE = re.compile(r"[A-Za-z0-9._~!$'()*+,;:@/?-]+")
_PATH_LITERAL_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")
_REFERENCE_RE = re.compile(r"\\(?:(\d{1,2})|g<([A-Za-z_][A-Za-z0-9_]*|\d{1,2})>|(\\))")

Op = tuple[str, tuple[templates.Part, ...]]


# --- Query parameters ----------------------------------------------------------------------------


def query_names(value: str) -> tuple[str, ...]:
    found = h.items(value)
    h.check_count(found)
    for name in found:
        _check_query_name(name)
    return tuple(dict.fromkeys(found))


def query_values(value: str) -> tuple[Op, ...]:
    out = []
    for name, raw in h.pairs(value, "="):
        _check_query_name(name)
        out.append((name, templates.parse(h.check_value(raw))))
    return tuple(out)


def _check_query_name(name: str) -> None:
    if not _QUERY_NAME_RE.fullmatch(name) or len(name) > h.MAX_NAME:
        raise ValidationError(
            f"{name[:40]!r} is not a plain query parameter name (no spaces, '&', '=', '#' or '%').", code="query_name"
        )


def drop_params(query: bytes, names: frozenset[bytes]) -> bytes:
    """``query`` without the parameters called ``names`` (compared decoded, so ``%61pi_key`` is ``api_key``)."""
    kept = []
    for part in query.split(b"&"):
        name = part.partition(b"=")[0]
        encoded = b"%" in name or b"+" in name
        if name in names or (encoded and unquote_to_bytes(name.replace(b"+", b" ")) in names):
            continue
        kept.append(part)
    return b"&".join(p for p in kept if p)


# --- The upstream path ---------------------------------------------------------------------------


def parse_pattern(value: str) -> re.Pattern[str]:
    if len(value) > MAX_PATTERN:
        raise ValidationError(f"At most {MAX_PATTERN} characters.", code="pattern_length")
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValidationError(f"Not a regular expression: {exc}.", code="pattern") from None
    _check_cost(value)
    return compiled


def _check_cost(value: str) -> None:
    import re._constants as c
    import re._parser as parser

    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT))
    unbounded = 0

    def walk(items: Any, inside_repeat: bool) -> None:
        nonlocal unbounded
        for op, av in items:
            if op in (c.GROUPREF, c.GROUPREF_EXISTS):
                raise ValidationError("Back-references are refused: they can take exponential time.", code="pattern")
            if op in repeats:
                _low, high, sub = av
                if high > 1 and inside_repeat:
                    raise ValidationError(
                        "A repetition inside a repeated group can take exponential time; simplify the pattern.",
                        code="pattern",
                    )
                if high == c.MAXREPEAT:
                    unbounded += 1
                walk(sub, inside_repeat or high > 1)
            elif op == c.SUBPATTERN:
                walk(av[-1], inside_repeat)
            elif op == c.BRANCH:
                for branch in av[1]:
                    walk(branch, inside_repeat)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                walk(av[1], inside_repeat)
            elif op == getattr(c, "ATOMIC_GROUP", None):
                walk(av, inside_repeat)

    walk(parser.parse(value), False)
    if unbounded > 2:
        raise ValidationError(
            "At most two unbounded repetitions (*, +, {n,}): more can take a long time on long paths.", code="pattern"
        )


def parse_replacement(value: str, pattern: re.Pattern[str]) -> tuple[str | int, ...]:
    """Literal path text and group numbers, e.g. ``/api/\\1`` -> ``("/api/", 1)``."""
    parts: list[str | int] = []
    position = 0
    for found in _REFERENCE_RE.finditer(value):
        parts.append(value[position : found.start()])
        number, name, escaped = found.groups()
        if escaped:
            parts.append("\\")
        else:
            ref = number or name
            group = int(ref) if ref.isdigit() else pattern.groupindex.get(ref, -1)
            if not 0 <= group <= pattern.groups:
                raise ValidationError(f"The pattern has no group {ref!r}.", code="replacement")
            parts.append(group)
        position = found.end()
    parts.append(value[position:])
    literal = "".join(p for p in parts if isinstance(p, str))
    if "\\" in literal.replace("\\\\", "") or not _PATH_LITERAL_RE.fullmatch(literal.replace("\\", "")):
        raise ValidationError(
            "The replacement holds path characters (letters, digits, -._~!$&'()*+,;=:@%/) and group references "
            "(\\1, \\g<name>) only.",
            code="replacement",
        )
    return tuple(p for p in parts if p != "")


@dataclass(frozen=True, slots=True)
class PathRewrite:
    pattern: re.Pattern[str]
    replacement: tuple[str | int, ...]

    def apply(self, path: str) -> str | None:
        """The rewritten path, or None when the pattern does not match."""
        found = self.pattern.search(path)
        if found is None:
            return None
        middle = "".join(p if isinstance(p, str) else (found.group(p) or "") for p in self.replacement)
        rewritten = path[: found.start()] + middle + path[found.end() :]
        return rewritten if rewritten.startswith("/") else "/" + rewritten


def has_dot_segments(path: str) -> bool:
    if "/." not in path and "%2e" not in path.lower():
        return False
    segments = path.lower().replace("%2e", ".").split("/")
    return "." in segments or ".." in segments
