"""A sign-in the gateway could not judge is given back: a configuration database that fails (any
``django.db.Error``) or a 503 answer does not count towards the sign-in limit, with Redis counting and
with each process counting alone; a real refusal still counts."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from rest_framework.test import APIClient

from proxy.redis_clients import sync_client
from ratelimit.algorithms import SLIDING_WINDOW, Limit
from ratelimit.backends import Check, MemoryBackend
from ratelimit.login import KEY_PREFIX, attempt, limit_logins, refund
from tests.ratelimit.clock import MovableClock

pytestmark = [pytest.mark.django_db, pytest.mark.needs_redis]

SECOND = 1_000_000
BACKENDS = {"redis": lambda: os.environ["REDIS_URL"], "memory": lambda: ""}


@pytest.fixture(params=sorted(BACKENDS))
def counted_in(request: pytest.FixtureRequest) -> Iterator[str]:
    with override_settings(
        GATEWAY_LOGIN_RATE_LIMIT=2, GATEWAY_LOGIN_RATE_PERIOD=600, GATEWAY_RATELIMIT_REDIS_URL=BACKENDS[request.param]()
    ):
        yield request.param


def address() -> str:
    return f"203.0.{random.randrange(256)}.{random.randrange(1, 255)}"


def database_down(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("server closed the connection unexpectedly")


def test_sign_ins_during_a_database_outage_answer_503_and_leave_the_budget_whole(counted_in: str) -> None:
    User.objects.create_user("ops", password="s3cret-pass", is_staff=True)
    ip = address()
    api = APIClient(REMOTE_ADDR=ip, raise_request_exception=False)
    admin = Client(REMOTE_ADDR=ip, raise_request_exception=False)
    good = {"username": "ops", "password": "s3cret-pass"}
    with connection.execute_wrapper(database_down):
        during: list[Any] = [api.post("/admin/api/token/", good, format="json") for _ in range(3)]
        during += [admin.post("/admin/login/", good) for _ in range(3)]
    assert [r.status_code for r in during] == [503] * 6
    assert {r["X-Gateway-Error"] for r in during} == {"database_unavailable"}

    assert api.post("/admin/api/token/", good, format="json").status_code == 200  # right after recovery
    assert admin.post("/admin/login/", {"username": "ops", "password": "wrong"}).status_code == 200
    assert admin.post("/admin/login/", good).status_code == 429  # real attempts still count


def test_a_sign_in_view_that_answers_503_gives_the_attempt_back(counted_in: str) -> None:
    answers = iter([503, 503, 503, 200, 200, 200])
    view = limit_logins(lambda request: HttpResponse(status=next(answers)))
    ip = address()

    def post() -> int:
        request: HttpRequest = RequestFactory().post("/admin/login/", REMOTE_ADDR=ip)
        return view(request).status_code

    assert [post() for _ in range(5)] == [503, 503, 503, 200, 200]
    assert post() == 429


def test_other_errors_of_the_view_still_count(counted_in: str) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        raise (OperationalError if request.META["HTTP_X_DB"] == "1" else RuntimeError)("boom")

    limited = limit_logins(view)
    ip = address()
    for _ in range(3):
        with pytest.raises(OperationalError):
            limited(RequestFactory().post("/admin/login/", REMOTE_ADDR=ip, HTTP_X_DB="1"))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            limited(RequestFactory().post("/admin/login/", REMOTE_ADDR=ip, HTTP_X_DB="0"))
    assert limited(RequestFactory().post("/admin/login/", REMOTE_ADDR=ip, HTTP_X_DB="0")).status_code == 429


def test_the_redis_refund_takes_one_from_the_counter_and_never_below_zero() -> None:
    client = sync_client(os.environ["REDIS_URL"])
    ip = f"test-refund-{random.randrange(10**12)}"
    with override_settings(
        GATEWAY_LOGIN_RATE_LIMIT=5, GATEWAY_LOGIN_RATE_PERIOD=3600, GATEWAY_RATELIMIT_REDIS_URL=os.environ["REDIS_URL"]
    ):
        counted = attempt(RequestFactory().post("/admin/login/", REMOTE_ADDR=ip))
        attempt(RequestFactory().post("/admin/login/", REMOTE_ADDR=ip))
        assert counted is not None and counted.shared
        assert client.hget(KEY_PREFIX + ip, "c") == b"2"
        for _ in range(3):
            refund(counted)
    assert client.hget(KEY_PREFIX + ip, "c") == b"0"
    client.delete(KEY_PREFIX + ip)


def test_the_memory_refund_takes_from_the_window_the_attempt_was_counted_in() -> None:
    clock = MovableClock(1_800_000_000.0 - 1_800_000_000.0 % 60)
    backend = MemoryBackend(clock)
    check = Check("k", Limit(SLIDING_WINDOW, 3, 60 * SECOND))
    for _ in range(3):
        backend.check_now([check])
    clock.advance(59)
    assert backend.refund(check, age_us=0)
    assert backend.states["k"][0][1] == 2
    clock.advance(2)  # the window turns; one attempt in the new one
    backend.check_now([check])
    assert backend.states["k"][0][1:3] == (1, 2)
    assert backend.refund(check, age_us=3 * SECOND)  # an attempt made in the previous window
    assert backend.refund(check, age_us=0)  # and one made now
    assert backend.states["k"][0][1:3] == (0, 1)
    assert not backend.refund(check, age_us=0)  # never below zero
    assert not backend.refund(check, age_us=200 * SECOND)  # older than what the counter remembers
    assert not backend.refund(Check("unknown", check.limit), age_us=0)
