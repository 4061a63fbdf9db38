"""JWT verification against keys the control plane configured, never keys named by the token.

The token's header only chooses among configured keys (by ``kid`` and ``alg``); ``jku``, ``x5u``,
``jwk`` and ``x5c`` are ignored. Each key verifies exactly one algorithm, passed to PyJWT as the
only one allowed, so ``alg: none`` and HS256-with-a-public-key confusions cannot succeed.

Only access tokens pass (RFC 8725 3.11-3.12): the header's ``typ`` must be one the issuer accepts
(default ``JWT``, ``at+jwt``), and a ``token_type`` claim other than ``access``, or a ``typ`` claim
naming a refresh or ID token (Keycloak's), is refused. ``exp``, ``nbf`` and ``iat`` must be numbers
(RFC 7519 2, NumericDate): PyJWT alone would take ``"exp": "9999999999"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from proxy.auth.config import JwtKey

MAX_TOKEN_LENGTH = 8192
MAX_HEADER_SEGMENT = 1024
TIME_CLAIMS = ("exp", "nbf", "iat")
ACCESS_TOKEN_TYPES = frozenset({"access", "access_token"})
# Values of a payload "typ" claim (Keycloak puts one there) that name anything but an access token.
NOT_ACCESS_TYPS = frozenset({"refresh", "offline", "id", "logout"})
_ASYMMETRIC = {"RS256": rsa.RSAPublicKey, "ES256": ec.EllipticCurvePublicKey}


class TokenRefused(Exception):
    """The token is malformed, unverifiable or not acceptable; ``str()`` is the 401 detail."""


def load_public_key(pem: str, algorithm: str) -> Any:
    try:
        key = load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    expected = _ASYMMETRIC.get(algorithm)
    if expected is None or not isinstance(key, expected):
        raise ValueError(f"the key does not fit {algorithm}")
    return key


def unverified_header(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRefused("The token is too large.")
    if token.count(".") != 2:
        raise TokenRefused("The token is malformed (a JWT has three dot-separated parts).")
    if token.find(".") > MAX_HEADER_SEGMENT:
        raise TokenRefused("The token's header is too large.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused("The token is malformed.") from None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise TokenRefused("Unsigned tokens (alg none) are refused.")
    return header


def candidates(header: dict[str, Any], keys: Sequence[JwtKey]) -> list[JwtKey]:
    alg = header["alg"]
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRefused("The token's kid is malformed.")
    # A token's kid must name a key (keys configured without a kid match any); no kid tries them all.
    found = [k for k in keys if k.algorithm == alg and (kid is None or not k.kid or k.kid == kid)]
    if not found:
        if kid and any(k.algorithm == alg for k in keys):
            raise TokenRefused(f"No configured key has the kid {kid[:64]!r}.")
        raise TokenRefused(f"The algorithm {alg[:16]!r} is not accepted here.")
    return found


def verify_token(token: str, keys: Sequence[JwtKey]) -> tuple[JwtKey, dict[str, Any]]:
    """Return the key that verified the token and its claims, or raise ``TokenRefused``."""
    header = unverified_header(token)
    last: jwt.PyJWTError | None = None
    for key in candidates(header, keys):
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=key.audience,
                issuer=key.issuer,
                leeway=key.leeway,
                options={"require": ["exp"], "verify_aud": key.audience is not None},
            )
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.ExpiredSignatureError:
            raise TokenRefused("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("The token is not valid yet.") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("The token's issuer is not accepted.") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("The token's audience is not accepted.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused(f"The token lacks the required {exc.claim!r} claim.") from None
        except jwt.PyJWTError as exc:
            last = exc
            continue
        check_access_token(header, claims, key)
        return key, claims
    detail = "The token's signature is not valid." if isinstance(last, jwt.InvalidSignatureError) else None
    raise TokenRefused(detail or "The token is not valid.")


def check_access_token(header: dict[str, Any], claims: dict[str, Any], key: JwtKey) -> None:
    """``TokenRefused`` unless a verified token is an access token with numeric times."""
    for name in TIME_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TokenRefused(f"The token's {name!r} claim must be a number (RFC 7519 NumericDate).")
    typ = header.get("typ")
    if typ is None:
        if not key.allow_untyped:
            raise TokenRefused("The token has no 'typ' header; this issuer needs one (RFC 8725 3.11).")
    elif not isinstance(typ, str) or typ.lower().removeprefix("application/") not in key.accepted_types:
        raise TokenRefused("The token's 'typ' is not one this issuer accepts for access tokens.")
    token_type = claims.get("token_type")
    if token_type is not None and (not isinstance(token_type, str) or token_type.lower() not in ACCESS_TOKEN_TYPES):
        raise TokenRefused("Only access tokens are accepted (the token_type claim says otherwise).")
    kind = claims.get("typ")
    if isinstance(kind, str) and kind.lower() in NOT_ACCESS_TYPS:
        raise TokenRefused("Only access tokens are accepted (the typ claim names another kind of token).")


def roles_of(claims: dict[str, Any], claim: str) -> frozenset[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(item) for item in value)
    return frozenset()
