"""The route simulator: which route takes a request and why the others do not, the upstream URL, and
what authentication would decide, on the admin page and over the admin API, without a backend."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from registry.models import Consumer, Route, Service, Target
from registry.services import issue_api_key
from registry.simulate import simulate

pytestmark = pytest.mark.django_db


@pytest.fixture
def table() -> dict[str, str]:
    orders = Service.objects.create(name="Orders", slug="orders", base_path="/v1")
    Target.objects.create(service=orders, host="10.0.0.7", port=8080)
    Route.objects.create(service=orders, name="orders", path_prefix="/orders", methods="GET,POST")
    Route.objects.create(
        service=orders,
        name="orders-admin",
        path_prefix="/orders/admin",
        auth_mode="api_key",
        required_roles="admin",
    )
    Route.objects.create(service=orders, name="shop", path_prefix="/shop", host="shop.example.com")
    alice = Consumer.objects.create(name="alice", roles="admin")
    bob = Consumer.objects.create(name="bob", roles="reader")
    return {"alice": issue_api_key(alice).key, "bob": issue_api_key(bob).key}


def verdicts(result: object) -> dict[str, str]:
    return {c.name: c.verdict for c in result.candidates}  # type: ignore[attr-defined]


def test_it_names_the_route_the_upstream_url_and_why_the_others_do_not_match(table: dict[str, str]) -> None:
    result = simulate("GET", "api.example.com:8000", "/orders/42?x=1")

    assert (result.route, result.status) == ("orders", None)
    assert result.upstream_url == "http://10.0.0.7:8080/v1/42?x=1" and result.target == "10.0.0.7:8080"
    assert result.outcome == "Forwarded to http://10.0.0.7:8080/v1/42?x=1"
    assert verdicts(result) == {
        "orders": "matched",
        "orders-admin": "path is not /orders/admin or below it",
        "shop": "host 'api.example.com' is not 'shop.example.com'",
    }


def test_it_explains_a_401_a_403_and_a_pass_on_an_authenticated_route(table: dict[str, str]) -> None:
    anonymous = simulate("GET", "h", "/orders/admin/x")
    reader = simulate("GET", "h", "/orders/admin/x", [("Authorization", f"Bearer {table['bob']}")])
    admin = simulate("GET", "h", "/orders/admin/x", [("Authorization", f"Bearer {table['alice']}")])

    assert anonymous.status == 401 and anonymous.outcome == "401 missing_credentials: this route needs credentials"
    assert verdicts(anonymous)["orders"].startswith("also matches, but 'orders-admin' wins")
    assert reader.status == 403 and reader.outcome == "403 insufficient_role: bob (roles: reader) lacks admin"
    assert admin.status is None and "authenticated as alice (roles: admin)" in [s.decision for s in admin.steps]
    assert [s.policy for s in admin.steps][:1] != [] and admin.upstream_url == "http://10.0.0.7:8080/v1/x"


def test_it_explains_a_404_and_a_405(table: dict[str, str]) -> None:
    missing = simulate("GET", "h", "/nowhere")
    wrong_method = simulate("DELETE", "h", "/orders/1")

    assert missing.status == 404 and missing.route is None
    assert wrong_method.status == 405 and "GET, POST" in wrong_method.outcome
    assert verdicts(wrong_method)["orders"] == "DELETE is not among GET, POST"


def test_the_admin_page_is_staff_only_and_prefilled_from_the_route_page(
    table: dict[str, str], admin_client: Client
) -> None:
    url = reverse("gateway-simulator")
    route_page = admin_client.get(reverse("admin:registry_route_change", args=[Route.objects.get(name="shop").pk]))
    answer = admin_client.post(
        url, {"method": "GET", "host": "h", "path": "/orders/admin/1", "headers": "", "credential": ""}
    )
    user = User.objects.create_user("someone", password="pw")
    outsider = Client()
    outsider.force_login(user)

    assert url == "/admin/simulator/"
    assert f"{url}?method=GET&amp;host=shop.example.com&amp;path=%2Fshop" in route_page.content.decode()
    assert "401 missing_credentials" in answer.content.decode()
    assert outsider.get(url).status_code == 302  # to the sign-in page


def test_the_admin_api_simulates_too(table: dict[str, str]) -> None:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("ops", is_staff=True))

    answer = client.post(
        "/admin/api/simulate",
        {"method": "GET", "host": "h", "path": "/orders/admin/1", "credential": table["alice"]},
        format="json",
    )
    bad = client.post("/admin/api/simulate", {"host": "h", "path": "no-slash"}, format="json")

    assert answer.status_code == 200 and answer.json()["route"] == "orders-admin"
    assert answer.json()["steps"][-1]["decision"] != "" and answer.json()["status"] is None
    assert bad.status_code == 400 and "path" in bad.json()["errors"]


def test_a_rate_limited_route_shows_each_clients_quota_without_counting(table: dict[str, str]) -> None:
    from ratelimit.backends import KEY_PREFIX
    from ratelimit.models import RatePolicy
    from tests.support.redis_server import forget_keys

    forget_keys(KEY_PREFIX)  # ids come back in each run's database
    policy = RatePolicy.objects.create(name="per-ip", limit=5, period=60)
    policy.routes.set([Route.objects.get(name="orders")])

    results = [simulate("GET", "h", "/orders/1", client_address="192.0.2.9") for _ in range(7)]

    step = next(s for s in results[-1].steps if s.policy == "ratelimit")
    assert step.decision.startswith("per-ip (client 192.0.2.9): 5 of 5 left, resets in ")
    assert step.decision.endswith(" s (read without counting)")
    assert all(r.status is None for r in results)


def test_the_identity_auth_finds_is_what_consumer_limits_and_consumer_ip_lists_see(table: dict[str, str]) -> None:
    from edge.models import ConsumerEdge
    from ratelimit.backends import KEY_PREFIX
    from ratelimit.models import RatePolicy
    from tests.support.redis_server import forget_keys

    forget_keys(KEY_PREFIX)
    policy = RatePolicy.objects.create(name="per-consumer", limit=7, period=60, scope=RatePolicy.Scope.CONSUMER)
    policy.routes.set([Route.objects.get(name="orders-admin")])
    ConsumerEdge.objects.create(consumer=Consumer.objects.get(name="alice"), ip_allow="10.0.0.0/8")
    alice = [("Authorization", f"Bearer {table['alice']}")]

    at_home = simulate("GET", "h", "/orders/admin/x", alice, client_address="10.1.1.1")
    elsewhere = simulate("GET", "h", "/orders/admin/x", alice, client_address="192.0.2.5")

    steps = {s.policy: s.decision for s in at_home.steps}
    assert steps["consumer_ip_lists"] == "alice may call from 10.1.1.1 (its own IP lists)"
    assert steps["ratelimit"].startswith("per-consumer (consumer alice): 7 of 7 left")
    assert elsewhere.status == 403
    assert elsewhere.outcome == "403 ip_denied: alice may not call from 192.0.2.5 (its own IP lists)"
