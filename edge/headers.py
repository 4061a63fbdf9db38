"""Header names, values and lists as admins write them, checked when saved.

Lists are one item per line or comma-separated (``X-Debug, X-Internal``); pairs are one per line
(``X-Tenant: {consumer_name}``, ``X-Old: X-New``). Every check here runs in the model's validators,
so the admin, the admin API and ``gateway_apply`` refuse the same input with the same message, and
the data plane can trust what it loads: no transformation ever produces an invalid header.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from edge import templates

MAX_ITEMS = 50
MAX_NAME = 100
MAX_VALUE = 2000
# RFC 9110 5.1 token characters, less "_": the gateway refuses underscores in request header names
# (proxy.headers), so it never sends one either.
_NAME_RE = re.compile(r"[A-Za-z0-9!#$%&'*+.^`|~-]+")
_VALUE_RE = re.compile(r"[\x20-\x7e]*")

# Framing, routing and the gateway's own headers: never changed by a transformation.
FRAMING = frozenset(
    {"connection", "content-length", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
REQUEST_RESERVED = FRAMING | {
    "host",
    "via",
    "x-request-id",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
}
RESPONSE_RESERVED = FRAMING | {"via", "x-request-id", "x-gateway-error"}
# Stored in plain text like every transformation: a credential for a backend does not belong there.
CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})


def items(value: str) -> list[str]:
    """The non-empty entries of a comma- or line-separated list."""
    return [item.strip() for item in re.split(r"[,\r\n]+", value) if item.strip()]


def lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def check_count(found: list[str] | list[tuple[str, str]]) -> None:
    if len(found) > MAX_ITEMS:
        raise ValidationError(f"At most {MAX_ITEMS} entries.", code="too_many")


def check_name(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """``name`` lower-cased, or ``ValidationError`` naming what is wrong with it."""
    if not name:
        raise ValidationError("A header name is missing.", code="header_name")
    if "_" in name:
        raise ValidationError(
            f"{name[:40]!r}: the gateway refuses underscores in header names; use hyphens.", code="header_name"
        )
    if len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        raise ValidationError(
            f"{name[:40]!r} is not a header name (letters, digits and !#$%&'*+.^`|~- , at most {MAX_NAME}).",
            code="header_name",
        )
    lowered = name.lower()
    if lowered in reserved or (lowered.startswith("x-consumer-") and reserved is REQUEST_RESERVED):
        raise ValidationError(f"{name} is managed by the gateway itself and cannot be changed.", code="reserved")
    return lowered


def check_value(value: str, what: str = "value") -> str:
    if len(value) > MAX_VALUE or not _VALUE_RE.fullmatch(value):
        raise ValidationError(
            f"The {what} {value[:40]!r} may only hold visible ASCII characters and spaces (no line breaks), "
            f"at most {MAX_VALUE}.",
            code="header_value",
        )
    return value


def names(value: str, reserved: frozenset[str]) -> tuple[str, ...]:
    """A list of header names (lower-cased, each once)."""
    found = items(value)
    check_count(found)
    out: list[str] = []
    for name in found:
        lowered = check_name(name, reserved)
        if lowered not in out:
            out.append(lowered)
    return tuple(out)


def pairs(value: str, separator: str = ":") -> list[tuple[str, str]]:
    """``Name: value`` lines as (name, value) with surrounding spaces removed."""
    out = []
    for line in lines(value):
        name, sep, rest = line.partition(separator)
        if not sep:
            raise ValidationError(f"{line[:40]!r}: write one 'Name{separator} value' per line.", code="pair")
        out.append((name.strip(), rest.strip()))
    check_count(out)
    return out


def header_values(
    value: str, reserved: frozenset[str], *, credentials: bool = False
) -> tuple[tuple[str, tuple[templates.Part, ...]], ...]:
    """``Name: template`` lines: names checked, values checked and compiled."""
    out = []
    for name, raw in pairs(value):
        lowered = check_name(name, reserved)
        if not credentials and lowered in CREDENTIALS:
            raise ValidationError(
                f"{name}: transformations are stored in plain text, so they may not add credentials; "
                "give the backend its own.",
                code="credentials",
            )
        if not raw:
            raise ValidationError(f"{name}: give a value, or list the header under 'remove'.", code="header_value")
        out.append((lowered, templates.parse(check_value(raw))))
    return tuple(out)


def renames(value: str, reserved: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """``Old: New`` lines."""
    out = []
    for old, new in pairs(value):
        out.append((check_name(old, reserved), check_name(new, reserved)))
    return tuple(out)
