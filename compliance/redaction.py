"""Redaction of what a traffic record keeps of the path, the query string, the headers and JSON data.

Always redacted, whatever the rules say (a redacted value becomes ``[REDACTED]``):
- query parameters and headers whose name can carry a credential: ``api_key``, ``apikey``, ``key``,
  ``token``, ``access_token``, ``id_token``, ``refresh_token``, ``password``, ``secret``,
  ``signature``, ``sig`` and any name ending in ``_token``, ``_key``, ``_secret``, ``_password`` or
  ``_signature`` (compared case-insensitively, URL-decoded, ``-`` as ``_``, a leading ``x_``
  ignored), the headers ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, and
  the route's own API-key header and query parameter;
- any path segment, query value or header value that holds one of this gateway's API keys
  (``gw_<8 hex>_<32 alphanumerics>``), also when percent-encoded.

Officers add ``RedactionRule`` rows, loaded into every routing snapshot (``compliance.compile``):
header and query parameter names, JSON paths, and regular expressions matched against each decoded
path segment or query value (the whole segment or value is redacted), on every route or on PHI
routes only. PHI routes also get ``DEFAULT_PHI_PATTERNS`` (SSNs, dates such as dates of birth,
email addresses) unless ``GATEWAY_AUDIT_PHI_DEFAULT_RULES`` is off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

from proxy.auth.apikeys import KEY_IN_TEXT

REDACTED = "[REDACTED]"
ALWAYS_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"set-cookie", b"x-api-key"})
CREDENTIAL_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "password",
        "passwd",
        "secret",
        "signature",
        "sig",
    }
)
CREDENTIAL_SUFFIXES = ("_token", "_key", "_secret", "_password", "_signature")
# This gateway's API keys, wherever they appear (in any case: a mangled key is still a leaked one).
GATEWAY_KEY = re.compile(KEY_IN_TEXT.pattern, re.IGNORECASE)
DEFAULT_PHI_PATTERNS = (
    r"(?<!\d)\d{3}[- ]\d{2}[- ]\d{4}(?!\d)",  # a US social security number
    r"(?<!\d)(?:1[89]|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?!\d)",  # 1980-01-31
    r"(?<!\d)(?:0?[1-9]|[12]\d|3[01])([-/.])(?:0?[1-9]|[12]\d|3[01])\1(?:1[89]|20)\d{2}(?!\d)",  # 01/31/1980
    r"[^\s@/]+@[^\s@/]+\.[A-Za-z]{2,}",  # an email address
)

Patterns = tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class RedactionRules:
    headers: frozenset[bytes] = ALWAYS_HEADERS
    query: frozenset[str] = frozenset()  # rule-listed query parameter names, lower-cased
    json_paths: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    segments: Patterns = ()  # path segment patterns of every route
    values: Patterns = ()  # query value patterns of every route
    phi_segments: Patterns = ()  # ... of PHI routes only (the defaults among them)
    phi_values: Patterns = ()

    def patterns(self, phi: bool) -> tuple[Patterns, Patterns]:
        """The (path segment, query value) patterns a route's records get."""
        if not phi:
            return self.segments, self.values
        return self.segments + self.phi_segments, self.values + self.phi_values


DEFAULT = RedactionRules()


def compile_rules(rows: Iterable[tuple[str, str, bool]], phi_defaults: bool = True) -> RedactionRules:
    """``rows``: (kind, name, phi_only) of the enabled rules. A pattern that does not compile (written
    past the model's validation) is skipped rather than failing every record."""
    headers, query, paths = set(ALWAYS_HEADERS), set(), []
    segments: list[re.Pattern[str]] = []
    values: list[re.Pattern[str]] = []
    phi_segments: list[re.Pattern[str]] = []
    phi_values: list[re.Pattern[str]] = []
    if phi_defaults:
        defaults = [re.compile(p) for p in DEFAULT_PHI_PATTERNS]
        phi_segments += defaults
        phi_values += defaults
    for kind, name, phi_only in rows:
        name = name.strip()
        if kind == "header":
            headers.add(name.lower().encode("latin-1", "replace"))
        elif kind == "query":
            query.add(name.lower())
        elif kind == "json_path":
            parts = tuple(p for p in name.removeprefix("$").split(".") if p)
            if parts:
                paths.append(parts)
        elif kind in ("path_segment", "query_value"):
            try:
                pattern = re.compile(name)
            except re.error:
                continue
            if kind == "path_segment":
                (phi_segments if phi_only else segments).append(pattern)
            else:
                (phi_values if phi_only else values).append(pattern)
    return RedactionRules(
        frozenset(headers),
        frozenset(query),
        tuple(paths),
        tuple(segments),
        tuple(values),
        tuple(phi_segments),
        tuple(phi_values),
    )


def is_credential_name(name: str) -> bool:
    """``name`` (decoded, any case) is a parameter or header that can carry a credential."""
    plain = name.strip().lower().replace("-", "_").replace(".", "_")
    plain = plain.removeprefix("x_")
    return plain in CREDENTIAL_NAMES or plain.endswith(CREDENTIAL_SUFFIXES)


def _sensitive(text: str, patterns: Patterns) -> bool:
    return GATEWAY_KEY.search(text) is not None or any(p.search(text) for p in patterns)


def redact_path(path: str, patterns: Patterns = ()) -> str:
    """``path`` with every segment that holds an API key or matches a pattern replaced."""
    if not patterns and "%" not in path and "gw_" not in path.lower():
        return path
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment and _sensitive(unquote(segment, "latin-1"), patterns):
            segments[index] = REDACTED
    return "/".join(segments)


def redact_query(raw: bytes, rules: RedactionRules, extra: str = "", patterns: Patterns = ()) -> str:
    if not raw:
        return ""
    text = raw.decode("latin-1")
    out = []
    for pair in text.split("&"):
        name, eq, value = pair.partition("=")
        key = unquote_plus(name, "latin-1")
        lowered = key.lower()
        if lowered in rules.query or (extra and lowered == extra) or is_credential_name(key):
            out.append(f"{name}={REDACTED}" if eq else name)
        elif _sensitive(unquote_plus(value, "latin-1") if eq else key, patterns):
            out.append(f"{name}={REDACTED}" if eq else REDACTED)
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
        text = value.decode("latin-1")
        if mode == "names" or name in secret or (extra and name == extra) or is_credential_name(key):
            text = REDACTED
        elif GATEWAY_KEY.search(text) or ("%" in text and GATEWAY_KEY.search(unquote(text, "latin-1"))):
            text = REDACTED
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
