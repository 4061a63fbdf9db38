"""Who may read the portal: anyone, or with ``GATEWAY_PORTAL_REQUIRE_AUTH`` a consumer's API key or
JWT (the same credentials routes accept, checked against the routing table this process serves) or
a staff user signed in to the admin.

A DRF authentication class and permission, so the portal's views answer 401/403 problem+json through
the admin API's exception handler and the portal's own schema describes them.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from portal.compile import NAME, PortalSnapshot
from proxy.auth.config import Identity
from proxy.auth.policy import AuthPolicy
from proxy.errors import GatewayError
from proxy.serving import serving

_policies: dict[int, tuple[PortalSnapshot, AuthPolicy]] = {}


class _Carrier:
    def __init__(self, request: Request) -> None:
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()]
        self.query = b""


class ConsumerCredentials(BaseAuthentication):
    """A consumer's API key (``Authorization: Bearer gw_...`` or ``X-Api-Key``) or a JWT."""

    def authenticate(self, request: Request) -> tuple[Any, Identity] | None:
        if not settings.GATEWAY_PORTAL_REQUIRE_AUTH:
            return None
        carrier = _Carrier(request)
        if not any(name in (b"authorization", b"x-api-key") for name, _ in carrier.headers):
            return None
        policy = _policy()
        if policy is None:
            raise AuthenticationFailed("The gateway has not loaded its configuration yet.")
        try:
            identity = async_to_sync(policy.authenticate)(carrier)
        except GatewayError as error:
            raise AuthenticationFailed(error.detail) from None
        if identity is None:
            return None
        return None, identity

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="gateway"'


class PortalAccess(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not settings.GATEWAY_PORTAL_REQUIRE_AUTH:
            return True
        user = request.user
        return isinstance(request.auth, Identity) or bool(user and user.is_active and user.is_staff)


def _policy() -> AuthPolicy | None:
    table = serving.table
    config = table.extensions.get(NAME) if table is not None else None
    if not isinstance(config, PortalSnapshot):
        return None
    cached = _policies.get(id(config))
    if cached is None or cached[0] is not config:
        _policies.clear()  # one table at a time
        cached = (config, AuthPolicy(config.auth, settings.GATEWAY_API_KEY_PEPPER))
        _policies[id(config)] = cached
    return cached[1]


class ConsumerCredentialsScheme(OpenApiAuthenticationExtension):
    """How the portal's schema names the credential (when the portal needs one)."""

    target_class = "portal.access.ConsumerCredentials"
    name = "consumerCredential"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A consumer's API key (gw_...) or JWT."}
