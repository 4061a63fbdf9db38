"""Config versions: each committed change keeps a snapshot (no secrets), who made it, from where and a
summary; any two compare field by field; a rollback applies a snapshot through the apply path as a
new, audited version, and is refused with the reasons when today's rules reject it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from registry.actors import acting_as
from registry.models import ConfigRevision, JwtIssuer, Route, Service
from registry.services import config_change, current_config_version

pytestmark = pytest.mark.django_db(transaction=True)

HS_SECRET = "an-hs256-secret-that-is-long-enough-0123456789"


def staff(*perms: str, name: str = "ops") -> APIClient:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client = APIClient()
    client.force_authenticate(user)
    return client


def latest() -> ConfigRevision:
    return ConfigRevision.objects.order_by("-version").first()  # type: ignore[return-value]


@pytest.fixture
def orders() -> Route:
    with acting_as("alice", "admin"), config_change():
        service = Service.objects.create(name="Orders", slug="orders")
        return Route.objects.create(service=service, name="orders", path_prefix="/orders")


def move(route: Route, prefix: str, actor: str = "bob") -> None:
    with acting_as(actor, "api"), config_change():
        route.path_prefix = prefix
        route.save()


def test_each_change_keeps_a_snapshot_with_who_where_and_a_summary(orders: Route) -> None:
    first = latest()
    move(orders, "/orders-new")
    second = latest()

    assert second.version == current_config_version() and second.version > first.version
    assert (first.actor, first.source) == ("alice", "admin")
    assert (second.actor, second.source) == ("bob", "api")
    assert second.summary == "route orders: path_prefix '/orders' -> '/orders-new'"
    assert "path_prefix: /orders-new" in second.snapshot and "path_prefix: /orders\n" in first.snapshot


def test_a_snapshot_never_holds_a_secret() -> None:
    with config_change():
        JwtIssuer.objects.create(name="hs", issuer="i", audience="a", algorithm="HS256", secret=HS_SECRET)

    assert HS_SECRET not in latest().snapshot and "name: hs" in latest().snapshot


def test_any_two_versions_compare_field_by_field(orders: Route) -> None:
    first = latest()
    move(orders, "/v2")
    with config_change():
        orders.service.read_timeout = 10
        orders.service.retries = 3
        orders.service.save()
    client = staff("registry.view_configrevision")

    answer = client.get(f"/admin/api/config/versions/{latest().version}/diff/?against={first.version}")

    assert answer.status_code == 200
    assert answer.json()["differences"] == [
        {"object": "service orders", "field": "read_timeout", "change": "changed", "old": 60.0, "new": 10.0},
        {"object": "service orders", "field": "retries", "change": "changed", "old": 1, "new": 3},
        {"object": "route orders", "field": "path_prefix", "change": "changed", "old": "/orders", "new": "/v2"},
    ]
    listed = client.get("/admin/api/config/versions/").json()
    assert [v["version"] for v in listed["results"]] == sorted(
        (r.version for r in ConfigRevision.objects.all()), reverse=True
    )
    assert "snapshot" not in listed["results"][0]
    assert "snapshot" in client.get(f"/admin/api/config/versions/{first.version}/").json()


def test_a_rollback_restores_the_version_as_a_new_audited_version(orders: Route) -> None:
    first = latest()
    move(orders, "/moved")
    client = staff("registry.rollback_configrevision", "registry.view_configrevision", name="carol")

    answer = client.post(f"/admin/api/config/versions/{first.version}/rollback/", {"reason": "bad move"}, format="json")

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["changes"] == ["~ route orders: path_prefix '/moved' -> '/orders'"]
    assert Route.objects.get(name="orders").path_prefix == "/orders"
    made = latest()
    assert body["version"] == made.version == current_config_version()
    assert (made.source, made.actor, made.reason, made.rolled_back_to) == (
        "rollback",
        "carol",
        "bad move",
        first.version,
    )
    assert made.summary == f"Rolled back to v{first.version}: bad move"
    rolled = AuditEvent.objects.get(action="gateway.config.rolled_back")
    assert (rolled.actor, rolled.source, rolled.data["reason"]) == ("carol", "rollback", "bad move")
    updated = AuditEvent.objects.filter(action="gateway.route.updated").order_by("-seq").first()
    assert updated is not None and updated.source == "rollback" and updated.data["after"]["path_prefix"] == "/orders"


def test_a_rollback_needs_its_permission_and_a_reason(orders: Route) -> None:
    first = latest()
    url = f"/admin/api/config/versions/{first.version}/rollback/"

    refused = staff("registry.view_configrevision", "registry.change_route").post(url, {"reason": "x"}, format="json")
    no_reason = staff("registry.rollback_configrevision", name="dan").post(url, {"reason": " "}, format="json")

    assert refused.status_code == 403 and refused["X-Gateway-Error"] == "forbidden"
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert no_reason["Content-Type"] == "application/problem+json"


def test_a_rollback_that_todays_rules_refuse_is_refused_with_the_reason() -> None:
    with config_change():
        JwtIssuer.objects.create(name="hs", issuer="i", audience="a", algorithm="HS256", secret=HS_SECRET)
    with_issuer = latest()
    with config_change():
        JwtIssuer.objects.all().delete()  # its secret is gone: no snapshot holds it
    client = staff("registry.rollback_configrevision")

    answer = client.post(f"/admin/api/config/versions/{with_issuer.version}/rollback/", {"reason": "r"}, format="json")

    assert answer.status_code == 422 and answer["X-Gateway-Error"] == "rule_violated"
    [line] = answer.json()["errors"]["snapshot"]
    assert "JWT issuer hs field 'secret': HS256 needs a secret of at least 32 characters." in line
    assert not JwtIssuer.objects.exists()


def test_a_dry_run_rollback_lists_the_changes_and_writes_nothing(orders: Route) -> None:
    first = latest()
    move(orders, "/moved")
    version = current_config_version()
    client = staff("registry.rollback_configrevision")

    answer = client.post(
        f"/admin/api/config/versions/{first.version}/rollback/", {"reason": "r", "dry_run": True}, format="json"
    )

    assert answer.json() == {
        "rolled_back_to": first.version,
        "version": None,
        "changes": ["~ route orders: path_prefix '/moved' -> '/orders'"],
    }
    assert current_config_version() == version


def test_the_configuration_exports_and_applies_over_http(orders: Route) -> None:
    client = staff("registry.view_configrevision", "registry.apply_configrevision")
    text = client.get("/admin/api/config/export").content.decode()
    assert "name: orders" in text

    same = client.post("/admin/api/config/apply?dry_run=1", text, content_type="application/yaml")
    moved = text.replace("path_prefix: /orders", "path_prefix: /elsewhere")
    dry = client.post("/admin/api/config/apply?dry_run=1", moved, content_type="application/yaml")
    done = client.post("/admin/api/config/apply", moved, content_type="application/yaml")
    as_json = client.post("/admin/api/config/apply?dry_run=1", {"version": 1, "services": []}, format="json")

    assert same.json()["changes"] == []
    assert dry.json()["changes"] == ["~ route orders: path_prefix '/orders' -> '/elsewhere'"]
    assert done.json()["dry_run"] is False and Route.objects.get(name="orders").path_prefix == "/elsewhere"
    assert latest().source == "api" and latest().actor == "ops"
    assert as_json.json()["changes"] == ["- service orders (disabled)", "- route orders (disabled)"]


def test_a_bad_file_over_http_is_a_problem_naming_its_lines() -> None:
    client = staff("registry.apply_configrevision")

    answer = client.post(
        "/admin/api/config/apply", "version: 1\nservices:\n  - name: x\n    slugg: y\n", content_type="application/yaml"
    )

    not_a_mapping = client.post("/admin/api/config/apply", "- a list\n", content_type="application/yaml")

    assert answer.status_code == 422 and answer["Content-Type"] == "application/problem+json"
    assert not_a_mapping.status_code == 400 and not_a_mapping["X-Gateway-Error"] == "invalid_request"
    assert answer.json()["errors"]["file"] == [
        "body:3: service #1 is missing the required key 'slug'",
        "body:4: service #1 has an unknown key 'slugg'; did you mean 'slug'?",
    ]
    assert (
        staff("registry.view_configrevision", name="v")
        .post("/admin/api/config/apply", "", content_type="application/yaml")
        .status_code
        == 403
    )


def test_a_comparison_with_a_version_never_recorded_is_a_404(orders: Route) -> None:
    client = staff("registry.view_configrevision")

    answer = client.get(f"/admin/api/config/versions/{latest().version}/diff/?against=999999")

    assert answer.status_code == 404 and answer["X-Gateway-Error"] == "not_found"
