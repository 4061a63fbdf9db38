"""What a route asks of its callers, and whether one set of demands is never weaker than another.

The dynamic route ``/api/v1/{service}/{path}`` reaches every path of its service's backend, so its
authentication must admit no caller that one of the service's routes would refuse
(``registry.dynamic``). ``covers(a, b)`` says exactly that of two demands; ``strictest`` builds the
weakest demand that covers them all, or finds that none can (an API-key route and a JWT route: no
single credential satisfies both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry import validators as v

if TYPE_CHECKING:
    from registry.models import Route

NONE, API_KEY, JWT, EITHER, INTROSPECTION = "none", "api_key", "jwt", "either", "introspection"
# The credentials each mode accepts; a mode admits a caller holding any one of them.
KINDS: dict[str, frozenset[str]] = {
    API_KEY: frozenset({"key"}),
    JWT: frozenset({"jwt"}),
    EITHER: frozenset({"key", "jwt"}),
    INTROSPECTION: frozenset({"introspection"}),
}
MODE_OF = {kinds: mode for mode, kinds in KINDS.items()}


@dataclass(frozen=True, slots=True)
class Demand:
    mode: str
    roles: frozenset[str] = frozenset()
    anonymous: bool = False  # callers without credentials pass
    issuers: frozenset[int] | None = None  # JWT issuer ids accepted; None: every enabled issuer
    gateway_users: bool = False  # this gateway's admin API tokens accepted
    # Not about who gets in, but about what the backend receives:
    identity_headers: tuple[str, ...] = v.IDENTITY_HEADERS
    forward_authorization: bool = False

    @property
    def kinds(self) -> frozenset[str]:
        return KINDS.get(self.mode, frozenset())

    def describe(self) -> str:
        if self.mode == NONE:
            return "no authentication"
        text = self.mode
        if self.roles:
            text += " with role(s) " + ", ".join(sorted(self.roles))
        if self.anonymous:
            text += ", anonymous callers allowed"
        if "jwt" in self.kinds:
            if self.issuers is not None:
                text += f", {len(self.issuers)} chosen JWT issuer(s)"
            if self.gateway_users:
                text += ", gateway users"
        return text


OPEN = Demand(NONE)


def of_route(route: Route) -> Demand:
    """A saved route's demand (its ``jwt_issuers`` are read: prefetch them for many routes)."""
    if route.auth_mode == NONE:
        return OPEN
    chosen = frozenset(issuer.pk for issuer in route.jwt_issuers.all()) if route.pk is not None else frozenset()
    return Demand(
        mode=route.auth_mode,
        roles=frozenset(v.parse_roles(route.required_roles)),
        anonymous=route.allow_anonymous,
        issuers=chosen or None,
        gateway_users=route.allow_gateway_users,
        identity_headers=v.parse_identity_headers(route.identity_headers),
        forward_authorization=route.forward_authorization,
    )


def covers(a: Demand, b: Demand) -> bool:
    """True when every caller ``a`` admits, ``b`` admits too: ``a`` is never weaker than ``b``."""
    if b.mode == NONE:
        return True
    if a.mode == NONE or not a.kinds <= b.kinds or not a.roles >= b.roles:
        return False
    if a.anonymous and not b.anonymous:
        return False
    if "jwt" in a.kinds:
        if b.issuers is not None and (a.issuers is None or not a.issuers <= b.issuers):
            return False
        if a.gateway_users and not b.gateway_users:
            return False
    return True


def strictest(demands: Iterable[Demand]) -> Demand | None:
    """The weakest demand that covers every one of ``demands`` (``OPEN`` when none asks for
    anything), or None when no single mode can."""
    guarded = [d for d in demands if d.mode != NONE]
    if not guarded:
        return OPEN
    kinds = frozenset.intersection(*(d.kinds for d in guarded))
    issuers: frozenset[int] | None = None
    for d in guarded:
        if d.issuers is not None:
            issuers = d.issuers if issuers is None else issuers & d.issuers
    gateway_users = all(d.gateway_users for d in guarded)
    if "jwt" in kinds and issuers == frozenset() and not gateway_users:
        kinds -= {"jwt"}  # the routes trust no issuer in common: no JWT satisfies them all
    if not kinds:
        return None
    roles = frozenset().union(*(d.roles for d in guarded))
    wanted = set().union(*(d.identity_headers for d in guarded))
    return Demand(
        mode=MODE_OF[kinds],
        roles=roles,
        anonymous=not roles and all(d.anonymous for d in guarded),
        issuers=issuers,
        gateway_users=gateway_users,
        identity_headers=tuple(h for h in v.IDENTITY_HEADERS if h in wanted),
        forward_authorization=all(d.forward_authorization for d in guarded),
    )
