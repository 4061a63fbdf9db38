"""Sign-in attempts are limited per client address: the admin login and the admin API's token endpoint
share one budget, and refused attempts never reach the password check."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def address() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


@override_settings(GATEWAY_LOGIN_RATE_LIMIT=3, GATEWAY_LOGIN_RATE_PERIOD=600)
def test_the_admin_login_answers_429_with_retry_after_past_the_limit() -> None:
    client = Client(REMOTE_ADDR=address())
    statuses = [client.post("/admin/login/", {"username": "x", "password": "wrong"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.post("/admin/login/", {"username": "x", "password": "wrong"})
    assert refused["X-Gateway-Error"] == "rate_limited" and refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 1200
    assert client.get("/admin/login/").status_code == 200  # the form still shows


@override_settings(GATEWAY_LOGIN_RATE_LIMIT=3, GATEWAY_LOGIN_RATE_PERIOD=600)
def test_the_token_endpoint_shares_the_budget_and_refuses_even_a_good_password() -> None:
    User.objects.create_user("ops", password="s3cret-pass", is_staff=True)
    ip = address()
    Client(REMOTE_ADDR=ip).post("/admin/login/", {"username": "ops", "password": "wrong"})
    api = APIClient(REMOTE_ADDR=ip)
    good = {"username": "ops", "password": "s3cret-pass"}
    assert [api.post("/admin/api/token/", good, format="json").status_code for _ in range(3)] == [200, 200, 429]
    assert APIClient(REMOTE_ADDR=address()).post("/admin/api/token/", good, format="json").status_code == 200


@override_settings(GATEWAY_LOGIN_RATE_LIMIT=0)
def test_a_limit_of_zero_turns_it_off() -> None:
    client = Client(REMOTE_ADDR=address())
    assert {client.post("/admin/login/", {"username": "x", "password": "y"}).status_code for _ in range(15)} == {200}


@override_settings(GATEWAY_LOGIN_RATE_LIMIT=2, GATEWAY_LOGIN_RATE_PERIOD=600, GATEWAY_TRUSTED_PROXIES=[])
def test_a_spoofed_x_forwarded_for_does_not_reset_the_budget() -> None:
    ip = address()
    statuses = [
        Client(REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR=address()).post("/admin/login/", {"username": "x"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
