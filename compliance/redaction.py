"""Redaction of what a traffic record keeps of the query string, the headers and JSON data.

Secrets are always redacted: ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``X-API-Key``,
the route's own API-key header and query parameter, and ``access_token`` in the query. Admins add
more with ``RedactionRule`` rows, loaded into every routing snapshot (``load_rules``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

REDACTED = "[REDACTED]"
ALWAYS_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"set-cookie", b"x-api-key"})
ALWAYS_QUERY = frozenset({"access_token"})


@dataclass(frozen=True, slots=True)
class RedactionRules:
    headers: frozenset[bytes] = ALWAYS_HEADERS
    query: frozenset[str] = ALWAYS_QUERY
    json_paths: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


DEFAULT = RedactionRules()


def compile_rules(rows: Iterable[tuple[str, str]]) -> RedactionRules:
    """``rows``: (kind, name) of the enabled rules."""
    headers, query, paths = set(ALWAYS_HEADERS), set(ALWAYS_QUERY), []
    for kind, name in rows:
        name = name.strip()
        if kind == "header":
            headers.add(name.lower().encode("latin-1", "replace"))
        elif kind == "query":
            query.add(name.lower())
        elif kind == "json_path":
            parts = tuple(p for p in name.removeprefix("$").split(".") if p)
            if parts:
                paths.append(parts)
    return RedactionRules(frozenset(headers), frozenset(query), tuple(paths))


def redact_query(raw: bytes, rules: RedactionRules, extra: str = "") -> str:
    if not raw:
        return ""
    text = raw.decode("latin-1")
    out = []
    for pair in text.split("&"):
        name, eq, _ = pair.partition("=")
        key = unquote(name).lower()
        if key in rules.query or (extra and key == extra):
            out.append(f"{name}={REDACTED}" if eq else name)
        else:
            out.append(pair)
    return "&".join(out)


def redact_headers(
    raw: Iterable[tuple[bytes, bytes]], rules: RedactionRules, mode: str, extra: bytes = b""
) -> dict[str, str]:
    """Header name -> value (repeated headers joined with ", "), secrets replaced by ``REDACTED``."""
    if mode == "none":
        return {}
    result: dict[str, str] = {}
    secret = rules.headers
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if mode == "names" or name in secret or (extra and name == extra):
            text = REDACTED
        else:
            text = value.decode("latin-1")
        result[key] = f"{result[key]}, {text}" if key in result and text != REDACTED else text
    return result


def redact_json(data: Mapping[str, Any], rules: RedactionRules) -> dict[str, Any]:
    """A copy of ``data`` with every rule-listed JSON path ($.a.b) replaced by ``REDACTED``."""
    result = dict(data)
    for path in rules.json_paths:
        _redact_path(result, path)
    return result


def _redact_path(node: dict[str, Any], path: tuple[str, ...]) -> None:
    head, rest = path[0], path[1:]
    if head not in node:
        return
    if not rest:
        node[head] = REDACTED
        return
    child = node[head]
    if isinstance(child, Mapping):
        node[head] = dict(child)
        _redact_path(node[head], rest)
