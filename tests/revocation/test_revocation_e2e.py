"""Two gateway processes sharing Redis: a jti revoked through the admin API is refused by both within
a second (a subject's older tokens too), while other tokens keep working; lifting it lets it back in."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.revocation.test_mirror import clear
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import BackendThread, GatewayProcess

pytestmark = [pytest.mark.needs_redis, pytest.mark.slow]
SECRET = "an-hs256-secret-that-is-long-enough-0123456789"
ISS, AUD = "https://idp.example", "gateway"


@pytest.fixture
def pair(transactional_db: None, gateway: GatewayProcess) -> Iterator[list[GatewayProcess]]:
    clear()
    other = GatewayProcess().start()
    yield [gateway, other]
    other.stop()
    clear()


def token(**claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISS, "aud": AUD, "sub": "ann", "exp": now + 300, "iat": now - 5, "jti": uuid.uuid4().hex}
    return jwt.encode(body | claims, SECRET, algorithm="HS256", headers={"typ": "JWT"})


def status(gateway: GatewayProcess, value: str) -> tuple[int, str]:
    reply = get(gateway, "/orders/1", {"Authorization": f"Bearer {value}"})
    return reply.status, reply.header("x-gateway-error") or ""


def seconds_until_refused_everywhere(gateways: list[GatewayProcess], value: str, started: float) -> float:
    pending = list(gateways)
    while pending:
        pending = [g for g in pending if status(g, value) != (401, "token_revoked")]
        assert time.monotonic() - started < 3, "still served after 3 s"
    return time.monotonic() - started


def test_a_revoked_jti_is_refused_by_every_process_within_a_second(
    pair: list[GatewayProcess], backend: BackendThread
) -> None:
    config = ConfigHelper(gateways=pair)
    issuer = config.jwt_issuer("hs", issuer=ISS, audience=AUD, algorithm="HS256", secret=SECRET)
    config.route(config.service("orders", targets=[backend]), "/orders", auth_mode="jwt", issuers=[issuer])
    config.sync()
    revoked, other = token(), token()
    assert [status(g, revoked)[0] for g in pair] == [200, 200]  # verified and cached by both
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("root"))

    started = time.monotonic()
    created = api.post(
        "/admin/api/jwt-revocations/",
        {"kind": "jti", "value": jwt.decode(revoked, options={"verify_signature": False})["jti"]},
        format="json",
    )
    assert created.status_code == 201, created.data

    assert seconds_until_refused_everywhere(pair, revoked, started) < 1.0
    reply = get(pair[1], "/orders/1", {"Authorization": f"Bearer {revoked}"})
    assert reply.problem("token_revoked")["detail"] == "The token has been revoked."
    assert 'error="invalid_token"' in (reply.header("www-authenticate") or "")
    assert [status(g, other)[0] for g in pair] == [200, 200]

    started = time.monotonic()
    subject = api.post("/admin/api/jwt-revocations/", {"kind": "subject", "value": "ann", "issuer": ISS}, format="json")
    assert subject.status_code == 201, subject.data
    assert seconds_until_refused_everywhere(pair, other, started) < 1.0

    api.delete(f"/admin/api/jwt-revocations/{created.data['id']}/")
    api.delete(f"/admin/api/jwt-revocations/{subject.data['id']}/")
    deadline = time.monotonic() + 1.0
    while [status(g, revoked)[0] for g in pair] != [200, 200]:
        assert time.monotonic() < deadline, "a lifted revocation still refused after 1 s"
