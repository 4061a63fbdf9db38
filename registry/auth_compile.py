"""Read consumers, API keys and JWT issuers into the immutable ``proxy.auth.config`` objects.

Part of ``registry.snapshot.load_snapshot`` (a worker thread, never the event loop). JWKS documents
are fetched here with httpx and cached for ``GATEWAY_JWKS_CACHE_SECONDS``; a failed fetch keeps the
last good keys, and with none, that issuer's tokens are refused (never accepted unverified).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from jwt import PyJWK, PyJWKError
from rest_framework_simplejwt.settings import api_settings as simplejwt_settings

from proxy.auth.config import AuthConfig, Credentials, Identity, JwtKey, KeyRecord
from proxy.auth.jwt import load_public_key
from registry import validators as v
from registry.auth_demand import NONE, Demand
from registry.auth_models import ApiKey, Consumer, JwtIssuer

log = logging.getLogger(__name__)

_jwks: dict[str, tuple[float, tuple[tuple[str, str, Any], ...]]] = {}  # url -> (fetched, (kid, alg, key))
_jwks_lock = threading.Lock()


def load_credentials() -> tuple[Credentials, dict[int, tuple[JwtKey, ...]]]:
    """Every usable API key, JWT key (by issuer id) and user-linked consumer."""
    now = timezone.now()
    identities: dict[int, Identity] = {}
    users: dict[str, Identity] = {}
    for consumer in Consumer.objects.filter(enabled=True):
        identity = Identity(str(consumer.pk), consumer.name, frozenset(v.parse_roles(consumer.roles)))
        identities[consumer.pk] = identity
        if consumer.user_id is not None:
            users[str(consumer.user_id)] = identity
    keys = {}
    active = ApiKey.objects.filter(revoked_at__isnull=True, consumer__enabled=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    for key in active.only("pk", "prefix", "digest", "consumer_id", "expires_at"):
        identity = identities[key.consumer_id]
        keys[key.prefix] = KeyRecord(
            key_id=key.pk,
            digest=bytes.fromhex(key.digest),
            identity=Identity(identity.consumer_id, identity.name, identity.roles, key_id=key.pk),
            expires_at=key.expires_at.timestamp() if key.expires_at else None,
        )
    if users:
        from django.contrib.auth import get_user_model

        active_ids = set(get_user_model().objects.filter(is_active=True).values_list("pk", flat=True))
        users = {uid: ident for uid, ident in users.items() if int(uid) in active_ids}
    issuers = list(JwtIssuer.objects.filter(enabled=True))
    by_issuer = {issuer.pk: _issuer_keys(issuer) for issuer in issuers}
    with _jwks_lock:
        for url in set(_jwks) - {issuer.jwks_url for issuer in issuers}:
            del _jwks[url]
    credentials = Credentials(
        keys=keys,
        jwt_keys=tuple(k for ks in by_issuer.values() for k in ks),
        gateway_users=users,
        user_id_claim=simplejwt_settings.USER_ID_CLAIM,
    )
    return credentials, by_issuer


def config_for(
    demand: Demand,
    credentials: Credentials,
    by_issuer: dict[int, tuple[JwtKey, ...]],
    key_header: bytes = b"",
    key_query_param: str = "",
) -> AuthConfig | None:
    """The compiled settings of a route's demand (or of a dynamic route's, ``registry.dynamic``)."""
    if demand.mode == NONE:
        return None
    if demand.issuers is None:
        jwt_keys = credentials.jwt_keys
    else:
        jwt_keys = tuple(k for pk in sorted(demand.issuers) for k in by_issuer.get(pk, ()))
    if demand.gateway_users:
        jwt_keys += (gateway_user_key(),)
    return AuthConfig(
        mode=demand.mode,
        required_roles=demand.roles,
        allow_anonymous=demand.anonymous,
        key_header=key_header,
        key_query_param=key_query_param,
        identity_headers=demand.identity_headers,
        jwt_keys=jwt_keys,
        credentials=credentials,
        forward_authorization=demand.forward_authorization,
    )


def gateway_user_key() -> JwtKey:
    signing = simplejwt_settings.SIGNING_KEY
    return JwtKey(0, None, None, simplejwt_settings.ALGORITHM, signing, "", 30, "")


def _issuer_keys(issuer: JwtIssuer) -> tuple[JwtKey, ...]:
    def key(kid: str, material: Any) -> JwtKey:
        return JwtKey(
            issuer.pk,
            issuer.issuer,
            issuer.audience,
            issuer.algorithm,
            material,
            kid,
            issuer.leeway,
            issuer.roles_claim,
            v.parse_token_types(issuer.accepted_types),
            issuer.allow_untyped,
        )

    try:
        if issuer.algorithm == JwtIssuer.Algorithm.HS256:
            return (key(issuer.key_id, issuer.secret.encode()),)
        if issuer.public_key.strip():
            return (key(issuer.key_id, load_public_key(issuer.public_key, issuer.algorithm)),)
        return tuple(
            key(kid, material) for kid, alg, material in _fetch_jwks(issuer.jwks_url) if alg in ("", issuer.algorithm)
        )
    except Exception as exc:
        log.error("JWT issuer %r has no usable key; its tokens are refused: %r", issuer.name, exc)
        return ()


def _fetch_jwks(url: str) -> tuple[tuple[str, str, Any], ...]:
    with _jwks_lock:
        cached = _jwks.get(url)
        if cached is not None and time.monotonic() - cached[0] < settings.GATEWAY_JWKS_CACHE_SECONDS:
            return cached[1]
        try:
            response = httpx.get(url, timeout=settings.GATEWAY_JWKS_TIMEOUT, follow_redirects=False)
            response.raise_for_status()
            keys = []
            for jwk in response.json().get("keys", []):
                try:
                    parsed = PyJWK(jwk)
                except PyJWKError:
                    continue
                keys.append((str(jwk.get("kid", "")), str(jwk.get("alg", "")), parsed.key))
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            if cached is None:
                raise
            log.warning("JWKS %s could not be refreshed (%r); keeping the keys fetched before", url, exc)
            _jwks[url] = (time.monotonic(), cached[1])
            return cached[1]
        _jwks[url] = (time.monotonic(), tuple(keys))
        return _jwks[url][1]


def jwks_due() -> bool:
    """True when a cached JWKS document is older than its lifetime: the watcher rebuilds then."""
    ttl = settings.GATEWAY_JWKS_CACHE_SECONDS
    now = time.monotonic()
    return any(now - fetched >= ttl for fetched, _ in _jwks.values())
