"""Validation rules shared by models, admin forms, the admin API and ``gateway_apply``."""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

from proxy.paths import key_of
from proxy.reserved import is_reserved, reserved_prefixes, reserved_segments

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_PATH_RE = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$")
_HOST_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(rf"^{_HOST_LABEL}(\.{_HOST_LABEL})*\.?$")
_WILDCARD_RE = re.compile(rf"^\*\.{_HOST_LABEL}(\.{_HOST_LABEL})+$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def normalize_prefix(value: str) -> str:
    value = value.strip()
    if len(value) > 1:
        value = value.rstrip("/")
    return value


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
        raise ValidationError(f"No request could match this prefix: {exc}", code="path_unreadable") from None
    if is_reserved(value):
        raise ValidationError(
            f"{value} is served by the gateway itself ({', '.join(reserved_prefixes())}); choose another prefix.",
            code="path_reserved",
        )


def validate_base_path(value: str) -> None:
    if value == "":
        return
    validate_plain_path(value)


def validate_plain_path(value: str) -> None:
    if not value.startswith("/") or not _PATH_RE.match(value) or "//" in value:
        raise ValidationError("Use an empty value or a plain path that starts with '/'.", code="base_path")


def validate_hostname(value: str) -> None:
    """A target host: a DNS name or an IP address, without scheme, port or path."""
    if not value:
        raise ValidationError("Enter a host name or IP address.", code="host_empty")
    if value.startswith("["):
        raise ValidationError("Write an IPv6 address without brackets, e.g. ::1.", code="host_brackets")
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME_RE.match(value.lower()):
        raise ValidationError(
            f"{value!r} is not a host name or IP address (leave out the scheme, port and path).", code="host"
        )


def validate_route_host(value: str) -> None:
    """A route's Host match: a DNS name or a leading wildcard such as ``*.example.com``."""
    if not value:
        return
    lowered = value.lower()
    if _WILDCARD_RE.match(lowered):
        return
    validate_hostname(lowered)


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


def validate_api_version(value: str) -> None:
    if value and not _VERSION_RE.match(value):
        raise ValidationError(
            "A version is 1-32 letters, digits, '.', '_' or '-', such as v2 or 2024-01.", code="version"
        )


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


def parse_statuses(value: str) -> frozenset[int]:
    """``"502,503"`` or ``"200-399"`` (comma-separated codes and ranges) as a set of status codes."""
    codes: set[int] = set()
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        low, _, high = item.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValidationError(f"{item!r} is not a status code or a range like 500-599.") from None
        if not 100 <= first <= last <= 599:
            raise ValidationError(f"{item!r} is not a range of HTTP status codes (100-599).")
        codes.update(range(first, last + 1))
    return frozenset(codes)


def validate_statuses(value: str) -> None:
    parse_statuses(value)


def validate_health_path(value: str) -> None:
    if value and not value.startswith("/"):
        raise ValidationError("The health check path starts with '/', e.g. /healthz.")
    if value:
        validate_plain_path(value.split("?", 1)[0])


# --- Authentication -----------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_ROLE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_QUERY_PARAM_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
IDENTITY_HEADERS = ("consumer-id", "consumer-name", "roles", "subject")


def validate_consumer_name(value: str) -> None:
    # Names travel in X-Consumer-Name: header-safe characters only.
    if not _NAME_RE.match(value):
        raise ValidationError("Use letters, digits and . _ @ - (at most 100), starting with a letter or digit.")


def parse_roles(value: str) -> tuple[str, ...]:
    """``"a, b,a"`` -> ``("a", "b")``; raises ValidationError on a malformed role."""
    roles: list[str] = []
    for item in (value or "").split(","):
        role = item.strip()
        if not role:
            continue
        if not _ROLE_RE.match(role):
            raise ValidationError(f"{role!r} is not a valid role: letters, digits and . _ : / - only.")
        if role not in roles:
            roles.append(role)
    return tuple(roles)


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


def validate_token_types(value: str) -> None:
    if not parse_token_types(value):
        raise ValidationError("Name at least one accepted typ, such as JWT or at+jwt.")


def parse_identity_headers(value: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(i.strip().lower() for i in (value or "").split(",") if i.strip()))
    unknown = [i for i in items if i not in IDENTITY_HEADERS]
    if unknown:
        raise ValidationError(f"Unknown identity headers {unknown}; choose from {', '.join(IDENTITY_HEADERS)}.")
    return items


def validate_identity_headers(value: str) -> None:
    parse_identity_headers(value)


def validate_query_param(value: str) -> None:
    if value and not _QUERY_PARAM_RE.match(value):
        raise ValidationError("A query parameter name: letters, digits, _ and - only.")


def validate_header_name(value: str) -> None:
    if value and (not _HEADER_RE.match(value) or "_" in value):
        raise ValidationError("A header name: letters, digits and hyphens only.")


_ORIGIN_RE = re.compile(r"^https?://(?:[a-z0-9\-._~]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")


def parse_origins(value: str) -> tuple[str, ...]:
    """A route's allowed WebSocket origins, lower-cased; ``("*",)`` allows any."""
    origins = tuple(item.strip().lower().rstrip("/") for item in value.split(",") if item.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN_RE.match(origin):
            raise ValidationError(
                f"{origin!r} is not an origin: use scheme://host[:port] (http or https), or *.", code="origin"
            )
    return origins


def validate_origins(value: str) -> None:
    parse_origins(value)
