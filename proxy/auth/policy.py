"""``AuthPolicy``: who is calling, and may they? Reads only the compiled table (and, for
introspection routes, the cached answers of the external service).

401 with ``WWW-Authenticate`` for missing or bad credentials, 403 for a known caller without the
required roles, 503 when the introspection service cannot answer. Client-supplied ``X-Consumer-*``
headers never reach the backend (``proxy.headers`` drops them); the identity headers sent are ours.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from django.conf import settings

from proxy.auth import usage
from proxy.auth.apikeys import KeyRefused, hasher_for, verify_key
from proxy.auth.config import API_KEY, EITHER, INTROSPECTION, JWT, AuthConfig, Identity
from proxy.auth.credentials import (
    CredentialCarrier,
    Unauthenticated,
    find_credential,
    identify_token,
    introspect,
)
from proxy.auth.identity import HeaderCache, UnsafeIdentity
from proxy.auth.jwt import TokenRefused
from proxy.auth.revocation import TokenMark, denylist
from proxy.errors import DependencyDown, Forbidden, Unauthorized
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot

VERIFIED_CACHE_SIZE = 10_000


class AuthPolicy:
    name = "auth"

    def __init__(self, config: AuthConfig, pepper: bytes) -> None:
        self.config = config
        self.hasher = hasher_for(pepper)
        self.keys = config.credentials.keys
        self.accepts_keys = config.mode in (API_KEY, EITHER)
        self.accepts_tokens = config.mode in (JWT, EITHER, INTROSPECTION)
        self.required = config.required_roles
        self.identity_headers = HeaderCache(config.identity_headers, VERIFIED_CACHE_SIZE)
        self.challenges = _challenges(config.mode)
        # Verified JWTs -> (valid until, identity, revocation mark). Per policy, so a table rebuild
        # (issuer or key changed, consumer disabled) starts empty. Revocation is checked on every use.
        self._verified: dict[bytes, tuple[float, Identity, TokenMark]] = {}

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot | None = None) -> AuthPolicy | None:
        if route.auth is None:
            return None
        return cls(route.auth, settings.GATEWAY_API_KEY_PEPPER)

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        identity = await self.authenticate(exchange)
        if identity is not None:
            exchange.identity = identity
            self.authorize(identity)
            try:
                exchange.headers.extend(self.identity_headers.get(identity))
            except UnsafeIdentity:
                detail = "The credential names an identity that cannot be sent in a header."
                raise Unauthorized(detail, reason="invalid_token", headers=self.challenges) from None
        return await call_next(exchange)

    async def authenticate(self, carrier: CredentialCarrier) -> Identity | None:
        """The caller, None for an anonymous one where allowed, or ``Unauthorized`` (401). Also used
        outside a chain, by the WebSocket fan-out endpoint (``realtime``)."""
        try:
            return await self._identify(carrier)
        except Unauthenticated as refusal:
            raise Unauthorized(str(refusal), reason=refusal.reason, headers=self._challenge(refusal)) from None

    def authorize(self, identity: Identity) -> None:
        """``Forbidden`` (403) when the caller lacks a role the route requires."""
        if self.required and not self.required <= identity.roles:
            missing = ", ".join(sorted(self.required - identity.roles))
            raise Forbidden(f"This route needs the role(s): {missing}.", reason="insufficient_role")

    async def _identify(self, exchange: CredentialCarrier) -> Identity | None:
        config = self.config
        found = find_credential(exchange, config, self.accepts_keys)
        if found is None:
            if config.allow_anonymous:
                return None
            raise Unauthenticated("This route needs credentials.", "missing_credentials")
        value, is_key = found
        if is_key:
            if not self.accepts_keys:
                raise Unauthenticated("This route does not accept API keys.", "invalid_credentials")
            try:
                record = verify_key(value, self.keys, self.hasher)
            except KeyRefused as exc:
                raise Unauthenticated(str(exc), "invalid_credentials") from None
            usage.record(record.key_id)
            return record.identity
        if config.mode == INTROSPECTION:
            return await introspect(value)
        if not self.accepts_tokens:
            raise Unauthenticated("The API key is malformed.", "invalid_credentials")
        # An RS256 check costs ~150 µs; a token verified before (by this table's keys) costs a lookup.
        digest = hashlib.sha256(value.encode()).digest()  # keys of 32 bytes, whatever the token's size
        cached = self._verified.get(digest)
        if cached is not None and cached[0] > time.time():
            identity, mark = cached[1], cached[2]
        else:
            try:
                identity, until, mark = identify_token(value, config)
            except TokenRefused as exc:
                raise Unauthenticated(str(exc), "invalid_token") from None
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]
            self._verified[digest] = (until, identity, mark)
        # After the signature: an unverified token never learns whether its jti is listed.
        if denylist.revoked(mark):
            raise Unauthenticated("The token has been revoked.", "token_revoked")
        return identity

    def _challenge(self, refusal: Unauthenticated) -> list[tuple[bytes, bytes]]:
        if refusal.reason == "missing_credentials":
            return self.challenges
        error = b', error="invalid_token"'
        return [(name, value + error) for name, value in self.challenges]


async def refuse_unprotected(exchange: Exchange) -> Response:
    """The chain of a route that has auth settings when no auth policy is in ``GATEWAY_POLICIES``:
    refused, never served without its authentication (``proxy.table.compile_table``)."""
    raise DependencyDown(
        "This route requires authentication, but the gateway has no auth policy configured.",
        reason="auth_unavailable",
    )


def _challenges(mode: str) -> list[tuple[bytes, bytes]]:
    bearer = (b"www-authenticate", b'Bearer realm="gateway"')
    apikey = (b"www-authenticate", b'ApiKey realm="gateway"')
    if mode == API_KEY:
        return [apikey]
    if mode == EITHER:
        return [bearer, apikey]
    return [bearer]
