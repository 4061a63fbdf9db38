"""Paths the gateway serves itself, which no route may take over.

They are read from Django's URLconf (every app's ``urls.py``), plus ``STATIC_URL`` and the paths an
app serves below Django (``reserve``, from an ``AppConfig.ready``: the WebSocket fan-out endpoint).
A path is reserved when it equals one of these prefixes or lies below one (``/admin`` and
``/admin/x``, never ``/adminx``).
"""

from __future__ import annotations

from typing import Any

_extra: list[str] = []
_prefixes: tuple[str, ...] | None = None


def reserve(prefix: str) -> None:
    """A path served outside the URLconf."""
    global _prefixes
    prefix = "/" + prefix.strip("/")
    if prefix not in _extra:
        _extra.append(prefix)
        _prefixes = None


def reserved_prefixes() -> tuple[str, ...]:
    """The shortest set of prefixes that covers every reserved path, sorted."""
    global _prefixes
    if _prefixes is None:
        from django.conf import settings
        from django.urls import get_resolver

        found = set(_extra)
        found.update(_literal_prefixes(get_resolver().url_patterns, ""))
        if settings.STATIC_URL and settings.STATIC_URL.startswith("/"):
            found.add("/" + settings.STATIC_URL.strip("/"))
        _prefixes = tuple(sorted(p for p in found if not any(_below(p, q) for q in found if q != p)))
    return _prefixes


def is_reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in reserved_prefixes())


def reserved_segments(parent: str) -> frozenset[str]:
    """The names directly below ``parent`` that are reserved (``/api/v1`` -> ``{"services", ...}``)."""
    parent = "/" + parent.strip("/") + "/"
    return frozenset(p[len(parent) :].split("/", 1)[0] for p in reserved_prefixes() if p.startswith(parent))


def _below(path: str, prefix: str) -> bool:
    return path.startswith(prefix + "/")


def _literal_prefixes(patterns: list[Any], base: str) -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        literal = _literal(pattern.pattern)
        if hasattr(pattern, "url_patterns") and not literal.strip("/"):
            found |= _literal_prefixes(pattern.url_patterns, base + literal)  # include("...") at ""
            continue
        path = (base + literal).strip("/")
        if path:
            found.add("/" + path)
    return found


def _literal(pattern: Any) -> str:
    """The fixed start of a URL pattern, up to its first converter or regex construct."""
    route = getattr(pattern, "_route", None)
    if isinstance(route, str):
        return route.split("<", 1)[0]
    regex = str(pattern.regex.pattern).lstrip("^")
    literal = []
    for char in regex:
        if char in ".^$*+?{}[]\\|()":
            break
        literal.append(char)
    return "".join(literal)
