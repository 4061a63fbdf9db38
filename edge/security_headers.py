"""Security response headers: a recommended profile in one click, or each header chosen by hand.

The **recommended** profile suits an API (OWASP's REST and HTTP headers cheat sheets):

    Strict-Transport-Security: max-age=31536000; includeSubDomains   (HTTPS answers only)
    X-Content-Type-Options: nosniff
    X-Frame-Options: DENY
    Referrer-Policy: no-referrer
    Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
    Permissions-Policy: accelerometer=(), camera=(), geolocation=(), microphone=(), payment=(), usb=()
    and no Server or X-Powered-By from the backend

With the profile on, any header filled in by hand replaces the profile's value for that header.
**Custom** sends only what is filled in. HSTS is only ever sent on HTTPS answers (RFC 6797 8.1: a
browser ignores it over plain HTTP, and a proxy in between could strip or forge it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from edge import headers as h

INHERIT, OFF, RECOMMENDED, CUSTOM = "", "off", "recommended", "custom"  # "": as the next level up
ONE_YEAR = 31_536_000
PROFILE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "permissions-policy": "accelerometer=(), camera=(), geolocation=(), microphone=(), payment=(), usb=()",
}
HIDDEN = ("server", "x-powered-by")
REFERRER_POLICIES = (
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
)


def validate_policy_value(value: str) -> None:
    """A Content-Security-Policy or Permissions-Policy value: one header line of visible ASCII."""
    h.check_value(value, "policy")


def check_hsts(max_age: int | None, subdomains: bool, preload: bool) -> dict[str, str]:
    """Errors by field: preload lists only take a year or more, with subdomains (hstspreload.org)."""
    if preload and (max_age is None or max_age < ONE_YEAR or not subdomains):
        return {"hsts_preload": "Preloading needs a max age of at least 31536000 (a year) and subdomains included."}
    return {}


@dataclass(frozen=True, slots=True)
class SecuritySpec:
    """One level's security headers, as saved."""

    mode: str  # inherit, off, recommended, custom
    hsts_max_age: int | None = None
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False
    content_type_options: bool = False
    frame_options: str = ""
    referrer_policy: str = ""
    content_security_policy: str = ""
    permissions_policy: str = ""
    hide_server_headers: bool = False


@dataclass(frozen=True, slots=True)
class SecurityHeaders:
    """What a route adds: headers for every answer, HSTS for HTTPS ones, backend headers to drop."""

    always: tuple[tuple[bytes, bytes], ...]
    https_only: tuple[tuple[bytes, bytes], ...]
    hidden: frozenset[bytes]


def compile_headers(spec: SecuritySpec) -> SecurityHeaders | None:
    if spec.mode not in (RECOMMENDED, CUSTOM):
        return None
    recommended = spec.mode == RECOMMENDED
    chosen = dict(PROFILE) if recommended else {}
    if spec.content_type_options:
        chosen["x-content-type-options"] = "nosniff"
    for name, value in (
        ("x-frame-options", spec.frame_options),
        ("referrer-policy", spec.referrer_policy),
        ("content-security-policy", spec.content_security_policy),
        ("permissions-policy", spec.permissions_policy),
    ):
        if value:
            chosen[name] = value
    hsts = None
    if spec.hsts_max_age is not None:
        hsts = f"max-age={spec.hsts_max_age}"
        hsts += "; includeSubDomains" if spec.hsts_include_subdomains else ""
        hsts += "; preload" if spec.hsts_preload else ""
    elif recommended:
        hsts = f"max-age={ONE_YEAR}; includeSubDomains"
    hide = recommended or spec.hide_server_headers
    return SecurityHeaders(
        always=tuple((n.encode(), v.encode()) for n, v in chosen.items()),
        https_only=((b"strict-transport-security", hsts.encode()),) if hsts else (),
        hidden=frozenset(n.encode() for n in HIDDEN) if hide else frozenset(),
    )


def validate_frame_options(value: str) -> None:
    if value not in ("", "DENY", "SAMEORIGIN"):
        raise ValidationError("Use DENY or SAMEORIGIN (ALLOW-FROM is obsolete).", code="frame_options")
