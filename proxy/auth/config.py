"""Compiled, immutable authentication config: what ``registry.auth_compile`` builds and the policy reads.

``Credentials`` is built once per routing table and shared by every route; ``AuthConfig`` is one
route's settings plus a reference to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_KEY = "api_key"
JWT = "jwt"
EITHER = "either"
INTROSPECTION = "introspection"


@dataclass(frozen=True, slots=True)
class Identity:
    consumer_id: str  # "" when the caller is not a configured consumer (a JWT subject)
    name: str
    roles: frozenset[str]
    subject: str = ""
    key_id: int = 0  # the API key used, for "last used"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: int
    digest: bytes  # HMAC-SHA256 of the whole key
    identity: Identity
    expires_at: float | None  # epoch seconds


@dataclass(frozen=True, slots=True)
class JwtKey:
    issuer_id: int  # 0 for this gateway's own admin API tokens
    issuer: str | None  # required iss; None for the gateway's own tokens
    audience: str | None
    algorithm: str  # the one algorithm this key verifies
    key: Any  # a secret (bytes) or a loaded public key object
    kid: str  # a token's kid must equal it; "" (no kid configured) accepts any
    leeway: int
    roles_claim: str
    # The token header's typ values accepted (lower case, without "application/"), RFC 8725 3.11.
    accepted_types: frozenset[str] = frozenset({"jwt", "at+jwt"})
    allow_untyped: bool = False  # a token without typ passes (issuers that leave it out)


@dataclass(frozen=True, slots=True, eq=False)
class Credentials:
    keys: Mapping[str, KeyRecord] = field(default_factory=dict)  # by public prefix
    jwt_keys: tuple[JwtKey, ...] = ()
    gateway_users: Mapping[str, Identity] = field(default_factory=dict)  # by Django user id
    user_id_claim: str = "user_id"  # simplejwt's USER_ID_CLAIM


@dataclass(frozen=True, slots=True, eq=False)
class AuthConfig:
    mode: str  # api_key, jwt, either, introspection
    required_roles: frozenset[str]
    allow_anonymous: bool
    key_header: bytes  # b"" when only Authorization is read
    key_query_param: str  # "" when the query string is never read
    identity_headers: tuple[str, ...]
    jwt_keys: tuple[JwtKey, ...]  # the keys this route accepts (issuers chosen, plus gateway users)
    credentials: Credentials
    # Pass a verified token's Authorization header on to the backend; off, it is dropped (keys always are).
    forward_authorization: bool = False
