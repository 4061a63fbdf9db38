"""Validation rules shared by models, admin forms, the admin API and ``gateway_apply``.

Where a rule is a pattern, the pattern is the rule: the validator matches it (ASCII classes only,
written so Python and ECMA-262 read it alike) and carries it as ``openapi`` for the admin API's
schema (``registry.api.schema.AutoSchema``), so what the schema allows is exactly what is accepted.
"""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from proxy.paths import key_of
from proxy.reserved import is_reserved, reserved_prefixes, reserved_segments

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_PCHAR = r"[A-Za-z0-9\-._~!$&'()*+,;=:@%]"
_PATH_RE = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$")
# A plain path: "/" then segments without "//".
PLAIN_PATH = rf"/(?:{_PCHAR}+(?:/{_PCHAR}+)*/?)?"
# A path segment other than "." and "..".
_SEGMENT = rf"(?:[A-Za-z0-9\-_~!$&'()*+,;=:@%]{_PCHAR}*|\.[A-Za-z0-9\-_~!$&'()*+,;=:@%]{_PCHAR}*|\.\.{_PCHAR}+)"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = rf"{_LABEL}(?:\.{_LABEL})*\.?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{IPV4})"
IPV6 = (
    rf"(?:(?:{_H16}:){{6}}{_LS32}|::(?:{_H16}:){{5}}{_LS32}|(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}|(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}|(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}"
    rf"|(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}|(?:(?:{_H16}:){{0,6}}{_H16})?::)"
)
HOST = rf"(?:{IPV4}|{IPV6}|{HOSTNAME})"
_HOST_RE = re.compile(rf"^{HOST}$")
_WILDCARD_RE = re.compile(rf"^\*\.{_LABEL}(?:\.{_LABEL})+$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def described(schema: dict[str, Any] | Callable[[], dict[str, Any]]) -> Callable[[Any], Any]:
    """Attach JSON Schema keywords (or a function giving them) to a validator: the admin API's
    schema shows them for every field the validator checks."""

    def attach(validator: Any) -> Any:
        validator.openapi = schema
        return validator

    return attach


# The code of a message about a rule no JSON Schema carries; the admin API answers it with 422
# (registry.api.problems.RULE, the same string).
RULE = "rule"


def beyond_schema(validator: Callable[[str], None]) -> Callable[[str], None]:
    """Mark a validator whose rule no JSON Schema can carry (a list with a grammar of its own, an
    address network, a regular expression that must compile, a header line): its messages get the
    code ``rule``, so the admin API answers a value its schema allows but the rule refuses with
    422 ``rule_violated``, never with a 400 that the schema says cannot happen. Forms and
    ``gateway_apply`` show the same messages."""

    @functools.wraps(validator)
    def check(value: str) -> None:
        try:
            validator(value)
        except ValidationError as exc:
            raise ValidationError([ValidationError(message, code=RULE) for message in exc.messages]) from None

    return check


def pattern(regex: str) -> dict[str, str]:
    return {"pattern": f"^(?:{regex})$"}


def normalize_prefix(value: str) -> str:
    value = value.strip()
    if len(value) > 1:
        value = value.rstrip("/")
    return value


def _prefix_pattern() -> dict[str, str]:
    reserved = "|".join(re.escape(p) for p in reserved_prefixes())
    # No ';' parameters (path_params below); '%' only as an escape (one of a refused byte: a rule).
    char = r"(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-Fa-f]{2})"
    first = r"(?:[A-Za-z0-9\-_~!$&'()*+,=:@]|%[0-9A-Fa-f]{2})"
    segment = rf"(?:{first}{char}*|\.{first}{char}*|\.\.{char}+)"
    return {"pattern": rf"^(?!(?:{reserved})(?:/|$))/(?:{segment}(?:/{segment})*)?$"}


@described(_prefix_pattern)
def validate_path_prefix(value: str) -> None:
    if not value.startswith("/"):
        raise ValidationError("A path prefix starts with '/'.", code="path_start")
    if not _PATH_RE.match(value) or "//" in value or "/../" in value + "/" or "/./" in value + "/":
        raise ValidationError(
            "Use a plain URL path: letters, digits and -._~!$&'()*+,;=:@% separated by single slashes; "
            "no query string, fragment, '..' or '.' segments.",
            code="path_chars",
        )
    if value != "/" and value.endswith("/"):
        raise ValidationError("Leave out the trailing slash; a prefix matches the path below it.", code="path_slash")
    if ";" in value:
        raise ValidationError(
            "Leave out ';' parameters: requests are matched without them (docs/proxying.md).", code="path_params"
        )
    try:
        key_of(value)
    except ValueError as exc:
        # An escape of a byte no path may hold (%2F, %00): a rule of the value no pattern states.
        raise ValidationError(f"No request could match this prefix: {exc}", code=RULE) from None
    if is_reserved(value):
        raise ValidationError(
            f"{value} is served by the gateway itself ({', '.join(reserved_prefixes())}); choose another prefix.",
            code="path_reserved",
        )


_PLAIN_PATH_RE = re.compile(rf"^{PLAIN_PATH}$")


@described(pattern(rf"|{PLAIN_PATH}"))
def validate_base_path(value: str) -> None:
    if value == "":
        return
    validate_plain_path(value)


@described(pattern(rf"|{PLAIN_PATH}"))  # empty: the fields that use it are optional
def validate_plain_path(value: str) -> None:
    if not _PLAIN_PATH_RE.match(value):
        raise ValidationError("Use an empty value or a plain path that starts with '/'.", code="base_path")


@described({**pattern(HOST), "maxLength": 253})
def validate_hostname(value: str) -> None:
    """A target host: a DNS name or an IP address, without scheme, port or path."""
    if not value:
        raise ValidationError("Enter a host name or IP address.", code="host_empty")
    if value.startswith("["):
        raise ValidationError("Write an IPv6 address without brackets, e.g. ::1.", code="host_brackets")
    if len(value) > 253 or not _HOST_RE.match(value):
        raise ValidationError(
            f"{value!r} is not a host name or IP address (leave out the scheme, port and path).", code="host"
        )


@described(pattern(rf"|\*\.{_LABEL}(?:\.{_LABEL})+|{HOST}"))
def validate_route_host(value: str) -> None:
    """A route's Host match: a DNS name or a leading wildcard such as ``*.example.com``."""
    if not value:
        return
    if _WILDCARD_RE.match(value):
        return
    validate_hostname(value)


def parse_methods(value: str) -> tuple[str, ...]:
    """``"get, post"`` -> ``("GET", "POST")``; an empty value means any method."""
    methods = []
    for item in value.replace(" ", ",").split(","):
        item = item.strip().upper()
        if not item:
            continue
        if item not in HTTP_METHODS:
            raise ValidationError(
                f"{item!r} is not a proxied method; use any of {', '.join(HTTP_METHODS)} "
                "(TRACE and CONNECT are refused).",
                code="method",
            )
        if item not in methods:
            methods.append(item)
    return tuple(methods)


def validate_methods(value: str) -> None:
    parse_methods(value)


@described(pattern(r"|[A-Za-z0-9][A-Za-z0-9._-]{0,31}"))
def validate_api_version(value: str) -> None:
    if value and not _VERSION_RE.match(value):
        raise ValidationError(
            "A version is 1-32 letters, digits, '.', '_' or '-', such as v2 or 2024-01.", code="version"
        )


def _slug_pattern() -> dict[str, str]:
    reserved = "|".join(re.escape(name) for name in sorted(reserved_segments("/api/v1")))
    return {"pattern": rf"^(?!(?:{reserved})$)[-a-zA-Z0-9_]+$"}


@described(_slug_pattern)
def validate_slug_not_reserved(value: str) -> None:
    if value in reserved_segments("/api/v1"):
        raise ValidationError(f"{value!r} is reserved under /api/v1/; choose another slug.", code="slug_reserved")


def route_tie_key(path_prefix: str, host: str, api_version: str, priority: int) -> tuple[str, str, str, int]:
    """Two enabled routes with the same key must not share a method, or neither would win. Prefixes
    are compared as requests are matched (``proxy.paths``): ``/Orders`` and ``/orders`` are one."""
    try:
        prefix = key_of(path_prefix)
    except ValueError:
        prefix = path_prefix
    return (prefix, host, api_version.lower(), priority)


def methods_overlap(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str]) -> bool:
    """True when some method is allowed by both lists (an empty list allows every method)."""
    return not a or not b or bool(set(a) & set(b))


_STATUS = r"[1-5][0-9][0-9]"
_STATUS_ITEM = rf"[ \t]*(?:{_STATUS}(?:[ \t]*-[ \t]*{_STATUS})?)?[ \t]*"
STATUSES = rf"{_STATUS_ITEM}(?:,{_STATUS_ITEM})*"
_STATUSES_RE = re.compile(rf"^{STATUSES}$")


def parse_statuses(value: str) -> frozenset[int]:
    """``"502,503"`` or ``"200-399"`` (comma-separated codes 100-599 and ranges) as a set of status
    codes; a range may be written either way round."""
    if not _STATUSES_RE.match(value):
        raise ValidationError(f"{value!r} is not a list of status codes (100-599) or ranges like 500-599.")
    codes: set[int] = set()
    for item in value.split(","):
        low, _, high = item.strip(" \t").partition("-")
        if low:
            first, last = sorted((int(low), int(high.strip(" \t") or low)))
            codes.update(range(first, last + 1))
    return frozenset(codes)


@described(pattern(STATUSES))
def validate_statuses(value: str) -> None:
    parse_statuses(value)


PATH_WITH_QUERY = rf"{PLAIN_PATH}(?:\?[^\r\n]*)?"
_PATH_WITH_QUERY_RE = re.compile(rf"^{PATH_WITH_QUERY}$")


@described(pattern(rf"|{PATH_WITH_QUERY}"))
def validate_health_path(value: str) -> None:
    if value and not _PATH_WITH_QUERY_RE.match(value):
        raise ValidationError("A path that starts with '/' (a query string may follow), e.g. /healthz.")


# --- Authentication -----------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
ROLE = r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}"
_ROLE_RE = re.compile(rf"^{ROLE}$")
ROLES = rf"[ \t]*(?:{ROLE})?[ \t]*(?:,[ \t]*(?:{ROLE})?[ \t]*)*"
_ROLES_RE = re.compile(rf"^{ROLES}$")
_QUERY_PARAM_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
IDENTITY_HEADERS = ("consumer-id", "consumer-name", "roles", "subject")


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


_IDENTITY_ITEM = rf"[ \t]*(?:{'|'.join(_any_case(h) for h in IDENTITY_HEADERS)})?[ \t]*"
IDENTITY_LIST = rf"{_IDENTITY_ITEM}(?:,{_IDENTITY_ITEM})*"


@described(pattern(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}"))
def validate_consumer_name(value: str) -> None:
    # Names travel in X-Consumer-Name: header-safe characters only.
    if not _NAME_RE.match(value):
        raise ValidationError("Use letters, digits and . _ @ - (at most 100), starting with a letter or digit.")


def parse_roles(value: str) -> tuple[str, ...]:
    """``"a, b,a"`` -> ``("a", "b")``; raises ValidationError on a malformed role."""
    roles: list[str] = []
    for item in (value or "").split(","):
        role = item.strip(" \t")
        if not role:
            continue
        if not _ROLE_RE.match(role):
            raise ValidationError(f"{role!r} is not a valid role: letters, digits and . _ : / - only.")
        if role not in roles:
            roles.append(role)
    return tuple(roles)


@described(pattern(ROLES))
def validate_roles(value: str) -> None:
    parse_roles(value)


_TOKEN_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$")


def parse_token_types(value: str) -> frozenset[str]:
    """``"JWT, at+jwt"`` -> ``{"jwt", "at+jwt"}``: JOSE ``typ`` values as compared (RFC 7515 4.1.9:
    case-insensitive, ``application/`` left out)."""
    types = set()
    for item in (value or "").split(","):
        item = item.strip().lower().removeprefix("application/")
        if not item:
            continue
        if not _TOKEN_TYPE_RE.match(item):
            raise ValidationError(f"{item!r} is not a media type such as JWT or at+jwt.")
        types.add(item)
    return frozenset(types)


@beyond_schema
def validate_token_types(value: str) -> None:
    if not parse_token_types(value):
        raise ValidationError("Name at least one accepted typ, such as JWT or at+jwt.")


def parse_identity_headers(value: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(i.strip(" \t").lower() for i in (value or "").split(",") if i.strip(" \t")))
    unknown = [i for i in items if i not in IDENTITY_HEADERS]
    if unknown:
        raise ValidationError(f"Unknown identity headers {unknown}; choose from {', '.join(IDENTITY_HEADERS)}.")
    return items


@described(pattern(IDENTITY_LIST))
def validate_identity_headers(value: str) -> None:
    parse_identity_headers(value)


@described(pattern(r"|[A-Za-z0-9_-]{1,40}"))
def validate_query_param(value: str) -> None:
    if value and not _QUERY_PARAM_RE.match(value):
        raise ValidationError("A query parameter name: letters, digits, _ and - only.")


@described(pattern(r"|[A-Za-z0-9-]{1,64}"))
def validate_header_name(value: str) -> None:
    if value and (not _HEADER_RE.match(value) or "_" in value):
        raise ValidationError("A header name: letters, digits and hyphens only.")


_ORIGIN_RE = re.compile(r"^https?://(?:[a-z0-9\-._~]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")
_ORIGIN_ITEM = r"[ \t]*(?:\*|[hH][tT][tT][pP][sS]?://(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?/*)?[ \t]*"
ORIGINS = rf"{_ORIGIN_ITEM}(?:,{_ORIGIN_ITEM})*"


def parse_origins(value: str) -> tuple[str, ...]:
    """A route's allowed WebSocket origins, lower-cased; ``("*",)`` allows any."""
    origins = tuple(item.strip(" \t").lower().rstrip("/") for item in value.split(",") if item.strip(" \t"))
    for origin in origins:
        if origin != "*" and not _ORIGIN_RE.match(origin):
            raise ValidationError(
                f"{origin!r} is not an origin: use scheme://host[:port] (http or https), or *.", code="origin"
            )
    return origins


@described(pattern(ORIGINS))
def validate_origins(value: str) -> None:
    parse_origins(value)


# --- TLS to a backend (Service.tls_*) ---------------------------------------------------------------

_FILE_PATH_RE = re.compile(r"^/[^\x00-\x1f]*$")


@beyond_schema
def validate_ca_bundle(value: str) -> None:
    """PEM text of one or more X.509 certificates (public data: a private key is refused)."""
    if not value:
        return
    if "PRIVATE KEY" in value:
        raise ValidationError("A CA bundle holds certificates only; never paste a private key here.")
    if not value.isascii():
        raise ValidationError("Not a PEM bundle of X.509 certificates (PEM text is ASCII only).")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=value)
    except (ssl.SSLError, ValueError, TypeError) as exc:
        reason = re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc))
        raise ValidationError(f"Not a PEM bundle of X.509 certificates ({reason}).") from None
    stats = context.cert_store_stats()
    if not stats.get("x509", 0):
        raise ValidationError("Not a PEM bundle of X.509 certificates (no certificate found).")


@described({**pattern(r"|/[^\x00-\x1f]*"), "maxLength": 1024})
def validate_file_path(value: str) -> None:
    """An absolute path of a file on the gateway hosts (not checked here: it need not exist on this host)."""
    if value and not _FILE_PATH_RE.match(value):
        raise ValidationError("Use an absolute path of a file on the gateway hosts, e.g. /etc/gateway/client.pem.")


@described({**pattern(rf"|{HOST}"), "maxLength": 253})
def validate_server_name(value: str) -> None:
    """The TLS server name (SNI and the name verified): a DNS name or an IP address."""
    if value:
        validate_hostname(value)
