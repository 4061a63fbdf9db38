"""Edge settings through every way of configuring: YAML (apply and export), the admin API (route and
service objects, the defaults, consumers) and the admin pages, all with the same validators."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from edge.compile import NAME, cors_for, ip_lists_for, transform_for
from edge.models import ConsumerEdge, EdgeDefaults, RouteCors
from registry.models import ConfigVersion, Consumer, Service
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db

YAML = """
version: 1
services:
  - name: Shop
    slug: shop
    ip_deny: 192.0.2.0/24
    security_headers: recommended
    targets:
      - host: 10.0.0.1
        port: 80
    routes:
      - name: shop-api
        path_prefix: /api
        cors: "on"
        cors_origins: https://app.example, https://*.example.com
        cors_credentials: true
        request_headers_set: |
          X-Tenant: {consumer_name}
          X-Env: prod
        path_rewrite: ^/v1/(.*)$
        path_rewrite_to: /\\1
"""


def apply(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    err = io.StringIO()
    call_command("gateway_apply", str(path), stdout=io.StringIO(), stderr=err, no_color=True)
    return err.getvalue()


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


def staff(group: str = "operator") -> APIClient:
    user = User.objects.create_user(f"user-{group.replace(' ', '-')}", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_yaml_settings_reach_the_routing_table_and_export_back_unchanged(tmp_path: Path) -> None:
    apply(tmp_path, YAML)
    snapshot = load_snapshot()
    (route,) = snapshot.routes
    levels = snapshot.extensions[NAME].levels(route)

    cors = cors_for(levels)
    assert cors is not None and cors.origins == ("https://app.example", "https://*.example.com")
    assert [str(n) for n in ip_lists_for(levels).deny] == ["192.0.2.0/24"]
    assert [name for name, _ in transform_for(levels).request_set] == ["x-tenant", "x-env"]
    assert levels[1].security is not None and levels[1].security.mode == "recommended"

    out = tmp_path / "export.yaml"
    call_command("gateway_export", "-o", str(out), stdout=io.StringIO())
    exported = out.read_text()
    assert "cors_origins: https://app.example, https://*.example.com" in exported
    assert "X-Tenant: {consumer_name}" in exported
    before = version()
    apply(tmp_path, exported)
    assert version() == before  # nothing to change


def test_yaml_refuses_bad_values_naming_the_line_the_field_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(YAML.replace("192.0.2.0/24", "192.0.2.0/33").replace("https://app.example,", "null,"))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("gateway_apply", str(path), stdout=io.StringIO(), stderr=err, no_color=True)
    lines = err.getvalue().splitlines()
    assert any(":6:" in line and "ip_deny" in line and "not an IPv4 or IPv6" in line for line in lines), lines
    assert any(":15:" in line and "cors_origins" in line and "sandboxed" in line for line in lines), lines
    assert not Service.objects.exists()


def test_the_route_api_object_carries_the_edge_fields_flat_and_validates_them() -> None:
    api = staff()
    assert api.post("/admin/api/services/", {"name": "Shop", "slug": "shop"}, format="json").status_code == 201
    created = api.post(
        "/admin/api/routes/",
        {"service": "shop", "name": "api", "path_prefix": "/api", "cors": "on", "cors_origins": "https://a.example"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["cors_origins"] == "https://a.example" and created.json()["security_headers"] == ""
    bad = api.patch(
        f"/admin/api/routes/{created.json()['id']}/",
        {"cors_credentials": True, "cors_origins": "*", "ip_allow": "nope"},
        format="json",
    )
    assert bad.status_code == 422
    assert "ip_allow" in bad.json()["errors"]
    assert RouteCors.objects.get().cors_origins == "https://a.example"


def test_the_defaults_are_one_object_of_the_admin_api() -> None:
    api = staff()
    shown = api.get("/admin/api/edge-defaults/")
    assert shown.status_code == 200 and shown.json()["cors"] == "off" and shown.json()["rewrite_location"] == "on"
    refused = api.patch("/admin/api/edge-defaults/", {"cors": "on"}, format="json")
    assert refused.status_code == 422 and "cors_origins" in refused.json()["errors"]
    before = version()
    saved = api.patch("/admin/api/edge-defaults/", {"security_headers": "recommended"}, format="json")
    assert saved.status_code == 200
    assert EdgeDefaults.load().security_headers == "recommended" and version() == before + 1
    viewer = staff("viewer")
    assert viewer.get("/admin/api/edge-defaults/").status_code == 200
    assert viewer.patch("/admin/api/edge-defaults/", {"cors": "off"}, format="json").status_code == 403


def test_consumer_settings_are_an_admin_api_resource_by_consumer_name() -> None:
    Consumer.objects.create(name="partner")
    api = staff()
    created = api.post(
        "/admin/api/edge-consumers/",
        {"consumer": "partner", "ip_allow": "203.0.113.0/24", "request_headers_set": "X-Partner: {consumer_name}"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert api.get("/admin/api/edge-consumers/partner/").json()["ip_allow"] == "203.0.113.0/24"
    bad = api.patch("/admin/api/edge-consumers/partner/", {"ip_deny": "10.0.0.0/40"}, format="json")
    assert bad.status_code == 422 and "ip_deny" in bad.json()["errors"]
    assert api.delete("/admin/api/edge-consumers/partner/").status_code == 204
    assert not ConsumerEdge.objects.exists()


def test_the_route_page_shows_the_sections_and_refuses_bad_values(admin_client: Client) -> None:
    service = Service.objects.create(name="Shop", slug="shop")
    page = admin_client.get(reverse("admin:registry_route_add"))
    for title in (b"CORS", b"Security headers", b"IP allow and deny lists", b"Transformations"):
        assert title in page.content
    response = admin_client.post(
        reverse("admin:registry_route_add"),
        {
            "name": "api",
            "service": service.pk,
            "enabled": "on",
            "path_prefix": "/api",
            "version_source": "either",
            "priority": "0",
            "auth_mode": "none",
            "ip_allow": "10.0.0.0/8, not-a-network",
        },
    )
    assert response.status_code == 200
    assert b"not an IPv4 or IPv6 address" in response.content


def test_the_defaults_page_opens_the_one_row(admin_client: Client) -> None:
    changelist = reverse("admin:edge_edgedefaults_changelist")
    assert admin_client.get(changelist)["Location"] == reverse("admin:edge_edgedefaults_add")
    EdgeDefaults(ip_deny="192.0.2.0/24").save()
    assert admin_client.get(changelist)["Location"] == reverse("admin:edge_edgedefaults_change", args=[1])
    assert admin_client.get(reverse("admin:edge_edgedefaults_change", args=[1])).status_code == 200
    assert admin_client.get(reverse("admin:edge_consumeredge_add")).status_code == 200


def test_a_second_settings_row_for_a_consumer_is_a_conflict_not_a_server_error() -> None:
    Consumer.objects.create(name="twice")
    api = staff()
    assert api.post("/admin/api/edge-consumers/", {"consumer": "twice"}, format="json").status_code == 201
    again = api.post("/admin/api/edge-consumers/", {"consumer": "twice"}, format="json")
    assert again.status_code == 409 and "consumer" in again.json()["errors"]
