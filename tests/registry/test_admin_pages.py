from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from registry.models import ConfigVersion, Route, Service, Target

pytestmark = pytest.mark.django_db


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


@pytest.fixture
def service() -> Service:
    return Service.objects.create(name="Orders", slug="orders")


@pytest.fixture
def target(service: Service) -> Target:
    return Target.objects.create(service=service, host="10.0.0.1", port=8080)


@pytest.fixture
def route(service: Service) -> Route:
    return Route.objects.create(service=service, name="orders", path_prefix="/orders", methods="GET")


def route_form(service: Service, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": "orders-new",
        "service": service.pk,
        "enabled": "on",
        "path_prefix": "/shop",
        "host": "",
        "methods": "GET",
        "api_version": "",
        "version_source": "either",
        "priority": "0",
        "strip_prefix": "on",
        "max_body_bytes": "",
        "body_timeout": "",
        "auth_mode": "none",
        "identity_headers": "consumer-id,consumer-name,roles,subject",
    }
    data.update(overrides)
    return data


def inline_management(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.parametrize("model", ["service", "target", "route", "configversion"])
def test_the_changelist_renders_for_a_superuser(admin_client: Client, model: str, target: Target, route: Route) -> None:
    response = admin_client.get(reverse(f"admin:registry_{model}_changelist"))
    assert response.status_code == 200
    assert b"Gateway admin" in response.content


@pytest.mark.parametrize("model", ["service", "target", "route"])
def test_the_add_page_renders_for_a_superuser(admin_client: Client, model: str) -> None:
    assert admin_client.get(reverse(f"admin:registry_{model}_add")).status_code == 200


def test_the_change_pages_render_for_a_superuser(
    admin_client: Client, service: Service, target: Target, route: Route
) -> None:
    for obj in (service, target, route):
        url = reverse(f"admin:registry_{obj._meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200


def test_the_service_page_shows_its_targets_and_routes_inline(
    admin_client: Client, service: Service, target: Target, route: Route
) -> None:
    response = admin_client.get(reverse("admin:registry_service_change", args=[service.pk]))
    assert b"10.0.0.1" in response.content
    assert b"/orders" in response.content


def test_the_service_list_counts_targets_and_routes(admin_client: Client, target: Target, route: Route) -> None:
    Target.objects.create(service=target.service, host="10.0.0.2", port=8080)
    response = admin_client.get(reverse("admin:registry_service_changelist"))
    row = response.context["cl"].result_list[0]
    assert (row.target_total, row.route_total) == (2, 1)


def test_a_config_version_cannot_be_edited(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:registry_configversion_change", args=[1]), {"version": "99"})
    assert response.status_code == 403
    assert version() != 99


def test_it_shows_a_reserved_prefix_and_an_unknown_method_on_the_form(admin_client: Client, service: Service) -> None:
    data = route_form(service, path_prefix="/admin/x", methods="GET,FETCH")
    response = admin_client.post(reverse("admin:registry_route_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "served by the gateway itself" in errors["path_prefix"][0]
    assert errors["methods"] == [
        "'FETCH' is not a proxied method; use any of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS "
        "(TRACE and CONNECT are refused)."
    ]
    assert b"served by the gateway itself" in response.content
    assert not Route.objects.filter(name="orders-new").exists()


def test_it_shows_a_clash_with_another_route_on_the_form(admin_client: Client, route: Route) -> None:
    data = route_form(route.service, path_prefix="/orders", methods="get")
    response = admin_client.post(reverse("admin:registry_route_add"), data)
    assert response.status_code == 200
    assert "already matches" in response.context["adminform"].form.non_field_errors()[0]


def test_it_saves_a_route_normalised_and_bumps_the_version(admin_client: Client, service: Service) -> None:
    before = version()
    data = route_form(service, path_prefix="/shop", methods="post, get", host="API.Example.com")
    response = admin_client.post(reverse("admin:registry_route_add"), data)
    assert response.status_code == 302
    saved = Route.objects.get(name="orders-new")
    assert (saved.methods, saved.host) == ("POST,GET", "api.example.com")
    assert version() == before + 1


def test_it_refuses_two_new_inline_routes_that_clash(admin_client: Client, service: Service) -> None:
    data: dict[str, Any] = {
        "name": service.name,
        "slug": service.slug,
        "description": "",
        "protocol": "http",
        "base_path": "",
        "lb_algorithm": "round_robin",
        "connect_timeout": "5",
        "read_timeout": "60",
        "retries": "1",
        "enabled": "on",
        **inline_management("targets"),
        **inline_management("routes"),
        "routes-TOTAL_FORMS": "2",
    }
    for i, name in enumerate(["a", "b"]):
        data |= {f"routes-{i}-name": name, f"routes-{i}-path_prefix": "/same", f"routes-{i}-priority": "0"}
        data |= {f"routes-{i}-enabled": "on", f"routes-{i}-methods": "GET", f"routes-{i}-service": service.pk}
    response = admin_client.post(reverse("admin:registry_service_change", args=[service.pk]), data)
    assert response.status_code == 200
    assert "match the same requests" in str(response.context["inline_admin_formsets"][1].formset.non_form_errors())
    assert not Route.objects.exists()


def test_the_disable_action_saves_each_object_as_one_config_change(admin_client: Client, service: Service) -> None:
    other = Service.objects.create(name="Billing", slug="billing")
    before = version()
    data = {"action": "disable_selected", "_selected_action": [service.pk, other.pk]}
    response = admin_client.post(reverse("admin:registry_service_changelist"), data)
    assert response.status_code == 302
    assert not Service.objects.filter(enabled=True).exists()
    assert version() == before + 1


def test_the_enable_action_skips_a_route_that_would_clash(admin_client: Client, route: Route) -> None:
    twin = Route.objects.create(service=route.service, name="twin", path_prefix="/orders", methods="GET", enabled=False)
    data = {"action": "enable_selected", "_selected_action": [twin.pk]}
    response = admin_client.post(reverse("admin:registry_route_changelist"), data, follow=True)
    twin.refresh_from_db()
    assert not twin.enabled
    assert "Not enabled: twin" in response.content.decode()


def test_the_target_weight_can_be_edited_in_the_list(admin_client: Client, target: Target) -> None:
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": target.pk,
        "form-0-weight": "5",
        "form-0-enabled": "on",
        "_save": "Save",
    }
    response = admin_client.post(reverse("admin:registry_target_changelist"), data)
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.weight == 5


def test_it_refuses_a_staff_user_without_permissions(client: Client) -> None:
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:registry_route_changelist")).status_code == 403
