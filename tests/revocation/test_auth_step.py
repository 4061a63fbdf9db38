"""The auth step refuses a revoked token after verifying it, also when the token was verified (and
cached) before the revocation; nothing else changes for other tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import jwt
import pytest

from proxy.auth.config import JWT, AuthConfig, Credentials, Identity, JwtKey
from proxy.auth.policy import AuthPolicy
from proxy.auth.revocation import GATEWAY_ISSUER, SubjectEntry, denylist
from proxy.errors import Unauthorized

SECRET = b"s" * 32
KEY = JwtKey(1, "https://idp", "gw", "HS256", SECRET, "", 0, "roles", allow_untyped=True)
GATEWAY_KEY = JwtKey(0, None, None, "HS256", SECRET, "", 0, "roles", allow_untyped=True)


@dataclass
class Carrier:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    query: bytes = b""


def token(key_iss: str | None = "https://idp", **claims: object) -> str:
    now = int(time.time())
    body = {"iss": key_iss, "aud": "gw", "sub": "ann", "exp": now + 60, "iat": now - 10, "jti": "t-1"} | claims
    return jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, algorithm="HS256")


def carrying(value: str) -> Carrier:
    return Carrier(headers=[(b"authorization", f"Bearer {value}".encode())])


async def subject_of(step: AuthPolicy, value: str) -> str:
    identity = await step.authenticate(carrying(value))
    assert identity is not None
    return identity.subject


def policy(*keys: JwtKey, users: dict[str, Identity] | None = None) -> AuthPolicy:
    credentials = Credentials(jwt_keys=keys, gateway_users=users or {})
    config = AuthConfig(JWT, frozenset(), False, b"", "", (), keys, credentials)
    return AuthPolicy(config, b"pepper")


@pytest.fixture(autouse=True)
def empty_denylist() -> Iterator[None]:
    denylist.replace({}, {})
    yield
    denylist.replace({}, {})


async def test_it_refuses_a_revoked_jti_even_after_caching_the_verified_token() -> None:
    step = policy(KEY)
    value = token()
    assert await subject_of(step, value) == "ann"  # verified and cached

    denylist.add_jti("t-1", time.time() + 60)

    with pytest.raises(Unauthorized) as refused:
        await step.authenticate(carrying(value))
    assert refused.value.reason == "token_revoked" and "revoked" in str(refused.value)
    assert await subject_of(step, token(jti="t-2")) == "ann"


async def test_it_refuses_a_subjects_tokens_issued_before_the_time_and_accepts_a_newer_one() -> None:
    step = policy(KEY)
    denylist.add_subject("https://idp", "ann", SubjectEntry(time.time() - 5, time.time() + 60))

    with pytest.raises(Unauthorized):
        await step.authenticate(carrying(token()))  # issued 10 s ago
    fresh = token(iat=int(time.time()), jti="t-3")
    assert await subject_of(step, fresh) == "ann"


async def test_an_unverifiable_token_is_refused_as_invalid_whatever_the_denylist_says() -> None:
    denylist.add_jti("t-1", time.time() + 60)
    forged = jwt.encode(
        {"iss": "https://idp", "aud": "gw", "sub": "ann", "exp": time.time() + 60, "jti": "t-1"}, b"x" * 32
    )

    with pytest.raises(Unauthorized) as refused:
        await policy(KEY).authenticate(carrying(forged))
    assert refused.value.reason == "invalid_token"  # the signature first: no hint about the list


async def test_the_gateways_own_tokens_are_revoked_by_user_id() -> None:
    alice = Identity("c1", "alice", frozenset())
    step = policy(GATEWAY_KEY, users={"7": alice})
    own = token(key_iss=None, aud=None, sub=None, user_id=7, token_type="access")
    assert await step.authenticate(carrying(own)) == alice

    denylist.add_subject(GATEWAY_ISSUER, "7", SubjectEntry(time.time(), time.time() + 60))

    with pytest.raises(Unauthorized):
        await step.authenticate(carrying(own))
