"""Finding the credential in a request, and turning tokens into identities."""

from __future__ import annotations

import re
from typing import Any, Protocol
from urllib.parse import unquote

from django.conf import settings

from proxy.auth.apikeys import looks_like_key
from proxy.auth.config import AuthConfig, Identity
from proxy.auth.introspection import IntrospectionDown, IntrospectionSettings, Introspector
from proxy.auth.jwt import TokenRefused, roles_of, verify_token
from proxy.auth.revocation import GATEWAY_ISSUER, TokenMark
from proxy.errors import DependencyDown

_KEY_IN_QUERY = re.compile(rb"(?:^|[=&])gw_[0-9a-f]{8}_[A-Za-z0-9]{32}(?:&|$)")
_introspector: Introspector | None = None


class CredentialCarrier(Protocol):
    """What carries a credential: an ``Exchange``, or a WebSocket handshake outside any route."""

    headers: list[tuple[bytes, bytes]]
    query: bytes


class Unauthenticated(Exception):
    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


def find_credential(exchange: CredentialCarrier, config: AuthConfig, accepts_keys: bool) -> tuple[str, bool] | None:
    """``(credential, is_api_key)`` from the request, or None. The header or query parameter that
    carried it is removed from what goes upstream: the backend learns the caller from the identity
    headers. Only a token in ``Authorization`` on a route with ``forward_authorization`` stays."""
    found: tuple[str, bool] | None = None
    carrier = b""
    for name, value in exchange.headers:
        if name == b"authorization" or (name == config.key_header and config.key_header):
            if found is not None:
                raise Unauthenticated("The request carries more than one credential.", "invalid_credentials")
            found, carrier = _parse(name, value.decode("latin-1"), config.key_header, accepts_keys), name
    if found is not None:
        if found[1] or carrier != b"authorization" or not config.forward_authorization:
            exchange.headers = [(n, v) for n, v in exchange.headers if n != carrier]
        return found
    query = exchange.query
    if not query:
        return None
    param = config.key_query_param
    if param and accepts_keys:
        # Raw bytes in and out: the rest of the query reaches the backend exactly as the client sent it.
        prefix = param.encode() + b"="
        parts = query.split(b"&")
        keys = [part[len(prefix) :] for part in parts if part.startswith(prefix)]
        if len(keys) == 1:
            exchange.query = b"&".join(part for part in parts if not part.startswith(prefix))
            return unquote(keys[0].decode("latin-1")), True
        if keys:
            raise Unauthenticated("The request carries more than one credential.", "invalid_credentials")
    elif _KEY_IN_QUERY.search(query):
        raise Unauthenticated("This route does not accept API keys in the query string.", "credentials_in_query")
    return None


def _parse(name: bytes, value: str, key_header: bytes, accepts_keys: bool) -> tuple[str, bool]:
    if name == key_header:
        return _exact(value), True
    scheme, _, credential = value.partition(" ")
    kind = scheme.lower()
    if kind not in ("bearer", "apikey"):
        hint = "Use 'Authorization: Bearer <token>' or 'Authorization: ApiKey <key>'."
        raise Unauthenticated(hint, "invalid_credentials")
    credential = _exact(credential)
    return credential, kind == "apikey" or (accepts_keys and looks_like_key(credential))


def _exact(credential: str) -> str:
    if not credential or credential != credential.strip() or " " in credential or "\t" in credential:
        raise Unauthenticated("The credential is empty or has extra whitespace.", "invalid_credentials")
    return credential


def identify_token(token: str, config: AuthConfig) -> tuple[Identity, float, TokenMark]:
    """The caller a verified JWT names, until when (epoch seconds) that answer holds, and what
    revocation looks at (``proxy.auth.revocation``)."""
    key, claims = verify_token(token, config.jwt_keys)
    until = float(claims["exp"]) + key.leeway
    if key.issuer_id == 0:  # this gateway's own admin API token (simplejwt)
        if claims.get("token_type") != "access":
            raise TokenRefused("Only access tokens are accepted.")
        user_id = str(claims.get(config.credentials.user_id_claim))
        identity = config.credentials.gateway_users.get(user_id)
        if identity is None:
            raise TokenRefused("No enabled consumer is linked to this user.")
        return identity, until, _mark(claims, GATEWAY_ISSUER, user_id)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenRefused("The token lacks a 'sub' claim.")
    identity = Identity(consumer_id="", name=subject, roles=roles_of(claims, key.roles_claim), subject=subject)
    return identity, until, _mark(claims, str(claims.get("iss") or ""), subject)


def _mark(claims: dict[str, Any], issuer: str, subject: str) -> TokenMark:
    jti = claims.get("jti")
    iat = claims.get("iat")  # a number when present (checked by verify_token)
    return TokenMark(
        jti=jti if isinstance(jti, str) else "",
        issuer=issuer,
        subject=subject,
        issued_at=float(iat) if isinstance(iat, int | float) else None,
    )


def introspector() -> Introspector | None:
    global _introspector
    if _introspector is None and settings.GATEWAY_INTROSPECTION_URL:
        _introspector = Introspector(
            IntrospectionSettings(
                url=settings.GATEWAY_INTROSPECTION_URL,
                client_id=settings.GATEWAY_INTROSPECTION_CLIENT_ID,
                client_secret=settings.GATEWAY_INTROSPECTION_CLIENT_SECRET,
                ttl=settings.GATEWAY_INTROSPECTION_TTL,
                negative_ttl=settings.GATEWAY_INTROSPECTION_NEGATIVE_TTL,
                timeout=settings.GATEWAY_INTROSPECTION_TIMEOUT,
                redis_url=settings.REDIS_URL,
            )
        )
    return _introspector


async def introspect(token: str) -> Identity:
    service = introspector()
    if service is None:
        raise DependencyDown("Token introspection is not configured.", reason="auth_unavailable")
    try:
        answer = await service.introspect(token)
    except IntrospectionDown as exc:
        raise DependencyDown(f"Credentials cannot be checked right now ({exc}).", reason="auth_unavailable") from None
    if not answer["active"]:
        raise Unauthenticated("The token is not active (unknown, expired or revoked).", "invalid_token")
    subject = str(answer.get("sub") or "")
    name = str(answer.get("username") or subject or answer.get("client_id") or "")
    scope = answer.get("scope")
    roles = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    return Identity(consumer_id="", name=name, roles=roles, subject=subject)


async def close() -> None:
    global _introspector
    if _introspector is not None:
        await _introspector.close()
        _introspector = None
