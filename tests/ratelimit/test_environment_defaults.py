"""Rate limits from the environment: the variables (both spellings, periods, units) and their errors,
the rows they make (created, updated, removed, read-only), and which routes they apply to."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from rest_framework.test import APIClient

from gateway_project.env import parse_size
from ratelimit import environment
from ratelimit.algorithms import Limit
from ratelimit.compile import PolicySpec, RateLimits
from ratelimit.models import RatePolicy


def test_both_spellings_are_read_the_gateway_one_first_with_a_period_in_units() -> None:
    policies = environment.read(
        {
            "GLOBAL_RATE_LIMIT_REQUESTS": "1000",
            "GATEWAY_GLOBAL_RATE_LIMIT_REQUESTS": "500",
            "USER_RATE_LIMIT_REQUESTS": "100",
            "USER_RATE_LIMIT_PERIOD": "1h",
        }
    )

    assert [(p.name, p.variable, p.scope, p.limit, p.period) for p in policies] == [
        ("env-global", "GATEWAY_GLOBAL_RATE_LIMIT_REQUESTS", "client_ip", 500, 60),
        ("env-user", "USER_RATE_LIMIT_REQUESTS", "consumer", 100, 3600),
    ]
    assert environment.read({}) == ()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"GLOBAL_RATE_LIMIT_REQUESTS": "lots"}, "GLOBAL_RATE_LIMIT_REQUESTS"),
        ({"GATEWAY_USER_RATE_LIMIT_REQUESTS": "0"}, "GATEWAY_USER_RATE_LIMIT_REQUESTS"),
        ({"GLOBAL_RATE_LIMIT_REQUESTS": "5", "GLOBAL_RATE_LIMIT_PERIOD": "1 fortnight"}, "GLOBAL_RATE_LIMIT_PERIOD"),
        ({"USER_RATE_LIMIT_PERIOD": "0"}, "USER_RATE_LIMIT_PERIOD"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(variables: dict[str, str], named: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"^{named} "):
        environment.read(variables)


@pytest.mark.parametrize(
    ("raw", "size"),
    [("10MB", 10_000_000), ("512KiB", 524_288), ("1048576", 1_048_576), ("2 GiB", 2 * 1024**3), ("100b", 100)],
)
def test_sizes_take_units(raw: str, size: int) -> None:
    assert parse_size("MAX_REQUEST_SIZE", raw) == size


@pytest.mark.parametrize("raw", ["ten", "10XB", "-5MB", "1.5MB", "MB"])
def test_a_size_that_does_not_parse_names_the_variable(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^MAX_REQUEST_SIZE must be a size"):
        parse_size("MAX_REQUEST_SIZE", raw)


def spec(id: int, scope: str, *, env: bool = False, routes: frozenset[int] = frozenset()) -> PolicySpec:
    return PolicySpec(
        id, f"p{id}", scope, b"", Limit("sliding_window", 5, 60_000_000, 0), "closed", False,
        all_routes=not routes, route_ids=routes, service_ids=frozenset(), consumer_ids=None, from_environment=env,
    )  # fmt: skip


class FakeRoute:
    def __init__(self, id: int) -> None:
        self.id = id
        self.service = type("S", (), {"id": 1})()


def test_a_default_applies_only_where_no_policy_of_its_own_has_that_scope() -> None:
    own_ip = spec(1, "client_ip", routes=frozenset({7}))
    env_ip, env_user = spec(2, "client_ip", env=True), spec(3, "consumer", env=True)
    limits = RateLimits((own_ip, env_ip, env_user))

    assert limits.for_route(FakeRoute(7)) == (own_ip, env_user)  # type: ignore[arg-type]
    assert limits.for_route(FakeRoute(8)) == (env_ip, env_user)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_rows_are_created_updated_and_removed_with_the_variables() -> None:
    assert environment.apply(environment.read({"GLOBAL_RATE_LIMIT_REQUESTS": "1000"}))
    row = RatePolicy.objects.get(name="env-global")
    assert (row.from_environment, row.all_routes, row.scope, row.limit, row.period) == (
        True,
        True,
        "client_ip",
        1000,
        60,
    )
    assert "GLOBAL_RATE_LIMIT_REQUESTS" in row.description

    assert not environment.apply(environment.read({"GLOBAL_RATE_LIMIT_REQUESTS": "1000"}))  # nothing to change
    assert environment.apply(environment.read({"GLOBAL_RATE_LIMIT_REQUESTS": "20", "GLOBAL_RATE_LIMIT_PERIOD": "5m"}))
    row.refresh_from_db()
    assert (row.limit, row.period) == (20, 300)

    assert environment.apply(environment.read({}))
    assert not RatePolicy.objects.exists()


@pytest.mark.django_db
def test_an_admins_policy_of_the_same_name_is_left_alone() -> None:
    RatePolicy.objects.create(name="env-user", limit=7, all_routes=True)

    environment.apply(environment.read({"USER_RATE_LIMIT_REQUESTS": "100"}))

    assert RatePolicy.objects.get(name="env-user").limit == 7


@pytest.mark.django_db
def test_the_admin_and_the_api_show_an_environment_policy_but_do_not_change_it() -> None:
    environment.apply(environment.read({"GLOBAL_RATE_LIMIT_REQUESTS": "1000"}))
    row = RatePolicy.objects.get(name="env-global")
    root = User.objects.create_superuser("root")
    browser = Client()
    browser.force_login(root)

    page = browser.get(f"/admin/ratelimit/ratepolicy/{row.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # shown, not editable
    listing = browser.get("/admin/ratelimit/ratepolicy/")
    assert b"the environment" in listing.content
    assert browser.post(f"/admin/ratelimit/ratepolicy/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    api = APIClient()
    api.force_authenticate(root)
    changed = api.patch("/admin/api/rate-policies/env-global/", {"limit": 1}, format="json")
    assert changed.status_code == 403 and "GLOBAL_RATE_LIMIT_REQUESTS" in changed.json()["detail"]
    assert api.delete("/admin/api/rate-policies/env-global/").status_code == 403
    row.refresh_from_db()
    assert row.limit == 1000
    assert api.get("/admin/api/rate-policies/env-global/").status_code == 200
