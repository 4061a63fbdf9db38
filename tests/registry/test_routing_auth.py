"""What the routing table compiles for authentication: keys in memory, no step for open routes,
and a refusal (never an open door) when the auth policy is missing from GATEWAY_POLICIES."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from proxy.auth.policy import AuthPolicy
from proxy.errors import DependencyDown
from proxy.policies import BodyLimitPolicy
from proxy.table import compile_table
from registry.models import Consumer, Route, Service
from registry.services import issue_api_key, revoke_api_key
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def routes() -> None:
    service = Service.objects.create(name="Orders", slug="orders")
    Route.objects.create(service=service, name="open", path_prefix="/open")
    Route.objects.create(service=service, name="keyed", path_prefix="/keyed", auth_mode="api_key")


def route(table: Any, name: str) -> Any:
    return next(r for r in table.routes if r.spec.name == name)


@pytest.mark.usefixtures("routes")
def test_open_routes_get_no_auth_step() -> None:
    table = compile_table(load_snapshot(), [BodyLimitPolicy, AuthPolicy])

    assert [p.name for p in route(table, "open").policies] == ["body_limit"]
    assert [p.name for p in route(table, "keyed").policies] == ["body_limit", "auth"]


@pytest.mark.usefixtures("routes")
def test_only_usable_keys_are_compiled_and_never_the_key_itself() -> None:
    alice = Consumer.objects.create(name="alice")
    live = issue_api_key(alice)
    revoke_api_key(issue_api_key(alice).api_key)
    issue_api_key(alice, expires_at=timezone.now() - timedelta(seconds=1))
    issue_api_key(Consumer.objects.create(name="off", enabled=False))

    keys = route(compile_table(load_snapshot(), [AuthPolicy]), "keyed").spec.auth.credentials.keys

    assert list(keys) == [live.api_key.prefix]
    assert live.key not in repr(keys)


@pytest.mark.usefixtures("routes")
def test_a_route_with_auth_is_refused_when_the_auth_policy_is_missing() -> None:
    table = compile_table(load_snapshot(), [BodyLimitPolicy])

    with pytest.raises(DependencyDown):
        asyncio.run(route(table, "keyed").handle(None))
