"""The framework-free pieces of proxy.auth: key format and hashing, JWT key choice, usage batching."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import jwt as pyjwt
import pytest

from proxy.auth import usage
from proxy.auth.apikeys import KeyHasher, KeyRefused, digest, generate_key, verify_key
from proxy.auth.config import Identity, JwtKey, KeyRecord
from proxy.auth.jwt import TokenRefused, candidates, roles_of, unverified_header, verify_token

PEPPER = b"pepper"
ALICE = Identity("1", "alice", frozenset({"r"}))


def record_for(key: str, expires_at: float | None = None) -> dict[str, KeyRecord]:
    prefix = key.split("_")[1]
    return {prefix: KeyRecord(7, digest(PEPPER, key), ALICE, expires_at)}


def test_a_generated_key_has_the_documented_shape_and_hash() -> None:
    new = generate_key(PEPPER)

    assert new.key.startswith(f"gw_{new.prefix}_") and len(new.key) == 3 + 8 + 1 + 32
    assert bytes.fromhex(new.digest) == digest(PEPPER, new.key)
    assert generate_key(PEPPER).key != new.key


def test_a_key_verifies_only_with_the_same_pepper_and_before_it_expires() -> None:
    key = generate_key(PEPPER).key

    assert verify_key(key, record_for(key), KeyHasher(PEPPER)).key_id == 7
    with pytest.raises(KeyRefused):
        verify_key(key, record_for(key), KeyHasher(b"other"))
    with pytest.raises(KeyRefused, match="expired"):
        verify_key(key, record_for(key, expires_at=time.time() - 1), KeyHasher(PEPPER))


@pytest.mark.parametrize("pepper", [b"", b"short", b"x" * 64, b"y" * 65, bytes(range(200))])
def test_the_precomputed_hasher_is_hmac_sha256(pepper: bytes) -> None:
    key = generate_key(pepper).key

    assert KeyHasher(pepper)(key) == digest(pepper, key)


@pytest.mark.parametrize("mangle", [lambda k: k + " ", lambda k: " " + k, lambda k: k.upper(), lambda k: k[:-1]])
def test_a_mangled_key_is_refused(mangle: object) -> None:
    key = generate_key(PEPPER).key

    with pytest.raises(KeyRefused):
        verify_key(mangle(key), record_for(key), KeyHasher(PEPPER))  # type: ignore[operator]


def hs_key(kid: str = "", issuer_id: int = 1) -> JwtKey:
    return JwtKey(issuer_id, "iss", "aud", "HS256", b"s" * 32, kid, 30, "roles")


def test_the_token_header_only_chooses_among_configured_keys() -> None:
    keys = [hs_key("a"), hs_key("b", 2)]

    assert candidates({"alg": "HS256", "kid": "b"}, keys) == [keys[1]]
    assert candidates({"alg": "HS256"}, keys) == keys
    with pytest.raises(TokenRefused, match="kid"):
        candidates({"alg": "HS256", "kid": "c"}, keys)
    with pytest.raises(TokenRefused, match="not accepted"):
        candidates({"alg": "RS256"}, keys)


def test_verification_needs_exp_and_the_pinned_algorithm() -> None:
    key = hs_key()
    good = pyjwt.encode({"iss": "iss", "aud": "aud", "exp": time.time() + 60}, b"s" * 32, algorithm="HS256")
    no_exp = pyjwt.encode({"iss": "iss", "aud": "aud"}, b"s" * 32, algorithm="HS256")
    hs512 = pyjwt.encode({"iss": "iss", "aud": "aud", "exp": time.time() + 60}, b"s" * 64, algorithm="HS512")

    assert verify_token(good, [key])[0] is key
    with pytest.raises(TokenRefused, match="exp"):
        verify_token(no_exp, [key])
    with pytest.raises(TokenRefused, match="not accepted"):
        verify_token(hs512, [key])


def test_an_oversized_or_unsigned_token_is_refused_before_any_key_is_tried() -> None:
    with pytest.raises(TokenRefused, match="too large"):
        unverified_header("a" * 9000 + ".b.c")
    with pytest.raises(TokenRefused, match="alg none"):
        unverified_header(pyjwt.encode({"x": 1}, "", algorithm="none"))


def signed(header: dict[str, Any] | None = None, /, **claims: Any) -> str:
    body = {"iss": "iss", "aud": "aud", "exp": int(time.time()) + 60} | claims
    return pyjwt.encode(body, b"s" * 32, algorithm="HS256", headers=header)


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(int(time.time()) + 60)},
        {"exp": f"{int(time.time()) + 60}.5"},
        {"exp": True},
        {"nbf": str(int(time.time()) - 60)},
        {"iat": str(int(time.time()))},
        {"iat": None},
    ],
)
def test_time_claims_must_be_numbers(claims: dict[str, object]) -> None:
    with pytest.raises(TokenRefused):
        verify_token(signed(**claims), [hs_key()])


def test_numeric_time_claims_pass_as_integers_or_fractions() -> None:
    now = time.time()

    assert verify_token(signed(exp=now + 60.5, nbf=now - 1, iat=int(now)), [hs_key()])[1]["exp"] == now + 60.5


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "application/JWT"])
def test_the_default_accepted_typ_values_pass(typ: str) -> None:
    assert verify_token(signed({"typ": typ}), [hs_key()])[0].issuer_id == 1


@pytest.mark.parametrize("typ", ["JWS", "refresh+jwt", "id_token+jwt", "secevent+jwt", "", 7, ["JWT"]])
def test_another_typ_is_refused(typ: object) -> None:
    with pytest.raises(TokenRefused, match="typ"):
        verify_token(signed({"typ": typ}), [hs_key()])


def test_a_token_without_typ_passes_only_for_an_issuer_that_allows_it() -> None:
    untyped = signed({"typ": None})
    assert "typ" not in pyjwt.get_unverified_header(untyped)

    with pytest.raises(TokenRefused, match="typ"):
        verify_token(untyped, [hs_key()])
    assert verify_token(untyped, [replace(hs_key(), allow_untyped=True)])


def test_an_issuer_can_narrow_the_accepted_typ_values() -> None:
    strict = replace(hs_key(), accepted_types=frozenset({"at+jwt"}))

    assert verify_token(signed({"typ": "at+jwt"}), [strict])
    with pytest.raises(TokenRefused, match="typ"):
        verify_token(signed({"typ": "JWT"}), [strict])


@pytest.mark.parametrize(
    "claims",
    [
        {"token_type": "refresh"},
        {"token_type": "Refresh"},
        {"token_type": "id_token"},
        {"token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        {"token_type": 1},
        {"typ": "Refresh"},
        {"typ": "ID"},
        {"typ": "Offline"},
    ],
)
def test_refresh_and_id_tokens_are_refused_even_with_a_good_signature(claims: dict[str, object]) -> None:
    with pytest.raises(TokenRefused, match="access tokens"):
        verify_token(signed(**claims), [hs_key()])


@pytest.mark.parametrize("claims", [{"token_type": "access"}, {"token_type": "access_token"}, {"typ": "Bearer"}])
def test_access_tokens_that_say_so_pass(claims: dict[str, object]) -> None:
    assert verify_token(signed(**claims), [hs_key()])


def test_roles_come_from_a_list_or_a_space_separated_string() -> None:
    assert roles_of({"roles": ["a", "b"]}, "roles") == {"a", "b"}
    assert roles_of({"scope": "a b"}, "scope") == {"a", "b"}
    assert roles_of({}, "roles") == frozenset()


def test_usage_is_taken_in_batches() -> None:
    usage.take()
    usage.record(1, now=10.0)
    usage.record(1, now=11.0)
    usage.record(2, now=12.0)

    assert usage.take() == {1: 11.0, 2: 12.0}
    assert usage.take() == {}
