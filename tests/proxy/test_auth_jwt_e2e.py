"""JWTs through the real gateway: pinned algorithms, claims, kids, JWKS, and every malformed shape."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.models import User
from rest_framework_simplejwt.tokens import RefreshToken

from registry.models import JwtIssuer
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import BackendThread, GatewayProcess

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
HS_SECRET = "an-hs256-secret-that-is-long-enough-0123456789"
ISS, AUD = "https://idp.example", "gateway"


def pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "user-7", "exp": now + 300, "iat": now, "roles": ["orders:read"]} | overrides


def rs256(headers: dict[str, Any] | None = None, key: Any = RSA_KEY, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(alg: str) -> str:
    return f"{b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(reply: Reply, reason: str = "invalid_token", detail: str = "") -> None:
    assert reply.status == 401, reply
    problem = reply.problem(reason)
    assert detail.lower() in problem["detail"].lower(), problem
    assert (reply.header("www-authenticate") or "").startswith('Bearer realm="gateway"')


@pytest.fixture
def rs_route(config: ConfigHelper, backend: BackendThread) -> ConfigHelper:
    issuer = config.jwt_issuer("idp", algorithm="RS256", public_key=pem(RSA_KEY), key_id="k1")
    service = config.service("orders", targets=[backend])
    config.route(service, "/orders", auth_mode="jwt", issuers=[issuer])
    config.route(service, "/writers", auth_mode="jwt", required_roles="orders:write", issuers=[issuer])
    config.sync()
    return config


def test_it_accepts_a_valid_rs256_token_and_sends_the_subject(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    reply = get(gateway, "/orders/1", bearer(rs256({"kid": "k1"})))

    assert reply.status == 200, reply
    seen = reply.echoed_headers()
    assert seen["x-consumer-subject"] == ["user-7"]
    assert seen["x-consumer-roles"] == ["orders:read"]
    assert "authorization" not in seen  # the identity headers name the caller; the token stays here


def test_it_answers_401_with_a_bearer_challenge_without_a_token(
    rs_route: ConfigHelper, gateway: GatewayProcess
) -> None:
    reply = get(gateway, "/orders/1")

    assert_refused(reply, "missing_credentials")
    assert reply.header("www-authenticate") == 'Bearer realm="gateway"'


def test_it_answers_403_without_the_required_role(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    refused = get(gateway, "/writers/1", bearer(rs256()))
    assert refused.status == 403
    refused.problem("insufficient_role")

    assert get(gateway, "/writers/1", bearer(rs256(roles="orders:read orders:write"))).status == 200


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_it_refuses_alg_none_in_any_letter_case(rs_route: ConfigHelper, gateway: GatewayProcess, alg: str) -> None:
    assert_refused(get(gateway, "/orders/1", bearer(unsigned(alg))), detail="alg none")


def test_it_refuses_hs256_signed_with_the_rs256_public_key(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    import hashlib
    import hmac

    signature = hmac.new(pem(RSA_KEY).encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64(signature)}"

    assert_refused(get(gateway, "/orders/1", bearer(forged)), detail="not accepted")


def test_it_refuses_a_token_signed_by_another_key(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    assert_refused(get(gateway, "/orders/1", bearer(rs256(key=OTHER_RSA_KEY))), detail="signature")


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        # Times relative to when the test runs, not when it was collected (a whole suite takes longer
        # than ten minutes).
        ({"exp": -120}, "expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"iat": 600}, "not valid yet"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
    ],
)
def test_it_refuses_bad_claims(
    rs_route: ConfigHelper, gateway: GatewayProcess, overrides: dict[str, Any], detail: str
) -> None:
    now = int(time.time())
    claims = {name: now + value if name in ("exp", "nbf", "iat") else value for name, value in overrides.items()}

    assert_refused(get(gateway, "/orders/1", bearer(rs256(**claims))), detail=detail)


def test_it_accepts_an_expired_token_within_the_leeway(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    assert get(gateway, "/orders/1", bearer(rs256(exp=int(time.time()) - 10))).status == 200


def test_it_refuses_a_token_without_exp(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    token = jwt.encode({k: v for k, v in claims().items() if k != "exp"}, RSA_KEY, algorithm="RS256")

    assert_refused(get(gateway, "/orders/1", bearer(token)), detail="exp")


def test_it_refuses_a_kid_that_names_no_configured_key(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    assert_refused(get(gateway, "/orders/1", bearer(rs256({"kid": "k2"}))), detail="kid")


def test_it_ignores_keys_the_token_points_to(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_RSA_KEY.public_key()))
    headers = {"kid": "k1", "jku": "http://127.0.0.1:1/jwks", "x5u": "http://127.0.0.1:1/x", "jwk": jwk}

    assert_refused(get(gateway, "/orders/1", bearer(rs256(headers, key=OTHER_RSA_KEY))), detail="signature")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "only.one-dot",
        "a.b.c.d",
        "!!!.@@@.###",
        f"{b64(b'{not json')}.{b64(b'{}')}.{b64(b'sig')}",
        f"{b64(json.dumps({'alg': 'RS256', 'pad': 'x' * 3000}).encode())}.{b64(b'{}')}.{b64(b'sig')}",
    ],
    ids=["no-dots", "one-dot", "three-dots", "bad-base64", "bad-json", "huge-header"],
)
def test_it_refuses_a_malformed_token(rs_route: ConfigHelper, gateway: GatewayProcess, token: str) -> None:
    reply = get(gateway, "/orders/1", bearer(token))
    assert_refused(reply)


def test_it_accepts_hs256_and_es256_issuers(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    hs = config.jwt_issuer("hs", algorithm="HS256", secret=HS_SECRET)
    es = config.jwt_issuer("es", algorithm="ES256", public_key=pem(EC_KEY), issuer="https://es.example")
    service = config.service("orders", targets=[backend])
    config.route(service, "/hs", auth_mode="jwt", issuers=[hs])
    config.route(service, "/es", auth_mode="jwt", issuers=[es])
    config.sync()
    hs_token = jwt.encode(claims(), HS_SECRET, algorithm="HS256")
    es_token = jwt.encode(claims(iss="https://es.example"), EC_KEY, algorithm="ES256")

    assert get(gateway, "/hs/1", bearer(hs_token)).status == 200
    assert get(gateway, "/es/1", bearer(es_token)).status == 200
    assert_refused(get(gateway, "/hs/1", bearer(es_token)), detail="not accepted")
    assert_refused(get(gateway, "/es/1", bearer(hs_token)), detail="not accepted")


@pytest.fixture
def jwks_server() -> Iterator[BackendThread]:
    app = web.Application()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key())) | {"kid": "jw1", "alg": "RS256"}

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk]})

    app.router.add_get("/jwks.json", jwks)
    server = BackendThread("jwks", app).start()
    yield server
    server.stop()


def test_it_verifies_with_keys_from_a_jwks_url(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread, jwks_server: BackendThread
) -> None:
    issuer = config.jwt_issuer("jwks", algorithm="RS256", jwks_url=f"{jwks_server.url}/jwks.json")
    config.route(config.service("orders", targets=[backend]), "/orders", auth_mode="jwt", issuers=[issuer])
    config.sync()

    assert get(gateway, "/orders/1", bearer(rs256({"kid": "jw1"}))).status == 200
    assert_refused(get(gateway, "/orders/1", bearer(rs256({"kid": "other"}))), detail="kid")


def test_either_mode_takes_a_key_or_a_token(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    issuer = config.jwt_issuer("idp", algorithm="RS256", public_key=pem(RSA_KEY))
    config.route(config.service("orders", targets=[backend]), "/orders", auth_mode="either", issuers=[issuer])
    _, key = config.api_key(config.consumer("alice"))
    config.sync()

    assert get(gateway, "/orders/1", bearer(key)).status == 200
    assert get(gateway, "/orders/1", bearer(rs256())).status == 200
    missing = get(gateway, "/orders/1")
    assert missing.status == 401
    assert missing.all("www-authenticate") == ['Bearer realm="gateway"', 'ApiKey realm="gateway"']


def test_admin_api_tokens_work_for_users_linked_to_a_consumer(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    service = config.service("orders", targets=[backend])
    config.route(service, "/orders", auth_mode="jwt", allow_gateway_users=True)
    config.route(service, "/strict", auth_mode="jwt")
    linked = User.objects.create_user("ops", is_staff=True)
    unlinked = User.objects.create_user("other", is_staff=True)
    config.consumer("ops-consumer", roles="ops", user=linked)
    config.sync()
    token = str(RefreshToken.for_user(linked).access_token)

    reply = get(gateway, "/orders/1", bearer(token))
    assert reply.status == 200, reply
    assert reply.echoed_headers()["x-consumer-name"] == ["ops-consumer"]
    assert_refused(get(gateway, "/orders/1", bearer(str(RefreshToken.for_user(unlinked).access_token))))
    assert_refused(get(gateway, "/orders/1", bearer(str(RefreshToken.for_user(linked)))), detail="access")
    assert_refused(get(gateway, "/strict/1", bearer(token)))


def test_a_disabled_issuer_stops_its_tokens(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    JwtIssuer.objects.filter(name="idp").update(enabled=False)
    issuer = JwtIssuer.objects.get(name="idp")
    issuer.save()  # the signal bumps the version
    rs_route.sync()

    assert_refused(get(gateway, "/orders/1", bearer(rs256({"kid": "k1"}))))


def test_a_subject_that_would_inject_a_header_is_refused(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    reply = get(gateway, "/orders/1", bearer(rs256(sub="user\r\nX-Consumer-Roles: admin")))

    assert_refused(reply)


def test_a_verified_token_is_remembered_only_until_it_expires(rs_route: ConfigHelper, gateway: GatewayProcess) -> None:
    token = rs256(exp=int(time.time()) - 28)  # inside the 30 s leeway for about 2 s

    assert get(gateway, "/orders/1", bearer(token)).status == 200
    time.sleep(2.5)

    assert_refused(get(gateway, "/orders/1", bearer(token)), detail="expired")


def test_deactivating_a_linked_user_stops_its_tokens(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    config.route(config.service("orders", targets=[backend]), "/orders", auth_mode="jwt", allow_gateway_users=True)
    user = User.objects.create_user("ops", is_staff=True)
    config.consumer("ops-consumer", user=user)
    config.sync()
    token = str(RefreshToken.for_user(user).access_token)
    assert get(gateway, "/orders/1", bearer(token)).status == 200

    user.is_active = False
    user.save()
    config.sync()

    assert_refused(get(gateway, "/orders/1", bearer(token)))


# --- Only access tokens, with numeric times (RFC 7519, RFC 8725 3.11-3.12) ----------------------------


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (lambda: rs256(exp=str(int(time.time()) + 300)), "number"),
        (lambda: rs256(nbf=str(int(time.time()) - 10)), "number"),
        (lambda: rs256(iat=str(int(time.time()))), "number"),
        (lambda: rs256(token_type="refresh"), "access tokens"),
        (lambda: rs256(token_type="id_token"), "access tokens"),
        (lambda: rs256(typ="Refresh"), "access tokens"),
        (lambda: rs256({"typ": "refresh+jwt"}), "typ"),
        (lambda: rs256({"typ": "JWS"}), "typ"),
        (lambda: rs256({"typ": None}), "typ"),
    ],
    ids=["string-exp", "string-nbf", "string-iat", "refresh", "id-token", "keycloak-refresh", "refresh-typ",
         "jws-typ", "no-typ"],
)  # fmt: skip
def test_it_refuses_anything_but_an_access_token_with_numeric_times(
    rs_route: ConfigHelper, gateway: GatewayProcess, token: Any, detail: str
) -> None:
    assert_refused(get(gateway, "/orders/1", bearer(token())), detail=detail)


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "application/at+JWT"])
def test_it_accepts_the_issuers_typ_values(rs_route: ConfigHelper, gateway: GatewayProcess, typ: str) -> None:
    assert get(gateway, "/orders/1", bearer(rs256({"typ": typ}, token_type="access"))).status == 200


def test_an_issuer_sets_which_typ_values_it_accepts_and_whether_typ_may_be_missing(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    strict = config.jwt_issuer("strict", algorithm="RS256", public_key=pem(RSA_KEY), accepted_types="at+jwt")
    lax = config.jwt_issuer("lax", algorithm="RS256", public_key=pem(OTHER_RSA_KEY), allow_untyped=True)
    service = config.service("orders", targets=[backend])
    config.route(service, "/strict", auth_mode="jwt", issuers=[strict])
    config.route(service, "/lax", auth_mode="jwt", issuers=[lax])
    config.sync()

    assert get(gateway, "/strict/1", bearer(rs256({"typ": "at+jwt"}))).status == 200
    assert_refused(get(gateway, "/strict/1", bearer(rs256({"typ": "JWT"}))), detail="typ")
    assert_refused(get(gateway, "/strict/1", bearer(rs256({"typ": None}))), detail="typ")
    assert get(gateway, "/lax/1", bearer(rs256({"typ": None}, key=OTHER_RSA_KEY))).status == 200
    assert_refused(get(gateway, "/lax/1", bearer(rs256({"typ": None}, key=OTHER_RSA_KEY, token_type="refresh"))))


# --- Forwarding the client's Authorization header is opt-in per route -----------------------------


def test_the_authorization_header_reaches_the_backend_only_where_the_route_forwards_it(
    config: ConfigHelper, gateway: GatewayProcess, backend: BackendThread
) -> None:
    issuer = config.jwt_issuer("idp", algorithm="RS256", public_key=pem(RSA_KEY))
    service = config.service("orders", targets=[backend])
    config.route(service, "/dropped", auth_mode="either", issuers=[issuer])
    config.route(service, "/forwarded", auth_mode="either", issuers=[issuer], forward_authorization=True)
    config.route(service, "/open")
    _, key = config.api_key(config.consumer("alice"))
    config.sync()
    token = rs256()

    dropped = get(gateway, "/dropped/1", bearer(token)).echoed_headers()
    forwarded = get(gateway, "/forwarded/1", bearer(token)).echoed_headers()
    key_kept_back = get(gateway, "/forwarded/1", bearer(key)).echoed_headers()
    untouched = get(gateway, "/open/1", bearer(token)).echoed_headers()

    assert "authorization" not in dropped and dropped["x-consumer-subject"] == ["user-7"]
    assert forwarded["authorization"] == [f"Bearer {token}"]
    assert "authorization" not in key_kept_back and key_kept_back["x-consumer-name"] == ["alice"]
    assert untouched["authorization"] == [f"Bearer {token}"]  # no auth on the route: not the gateway's to take
