"""What a service's dynamic route asks of callers: never less than its strictest route, unless an
admin says so (and then a warning in the admin and /health/detailed)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from registry.models import JwtIssuer, Route, Service, ServiceDynamicRoute
from registry.sections import save_with_sections
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db


def shop(**dynamic: Any) -> Service:
    service = save_with_sections(Service(), {"name": "Shop", "slug": "shop", **dynamic})
    Route.objects.create(service=service, name="public", path_prefix="/shop")
    private = Route(service=service, name="private", path_prefix="/shop/private", auth_mode="api_key")
    private.required_roles = "admin"
    private.save()
    return service


def set_dynamic(service: Service, **values: Any) -> Service:
    return save_with_sections(service, {"dynamic_route": True, **values})


def served(slug: str = "shop") -> Any:
    snapshot = load_snapshot()
    return next((spec for spec in snapshot.dynamic if spec.service.slug == slug), None), snapshot.warnings


def test_a_service_has_no_dynamic_route_unless_it_opts_in() -> None:
    shop()

    assert served() == (None, ())
    assert not ServiceDynamicRoute.objects.exists()  # the default is no row at all


def test_an_opted_in_dynamic_route_asks_for_the_strictest_route_by_default() -> None:
    set_dynamic(shop())

    spec, warnings = served()

    assert spec.name == "dynamic:shop" and spec.prefix == "/api/v1/shop" and warnings == ()
    assert spec.auth.mode == "api_key" and spec.auth.required_roles == {"admin"}
    assert spec.auth.key_query_param == "" and spec.auth.forward_authorization is False


def test_a_weaker_explicit_authentication_is_refused_when_saved() -> None:
    service = shop()

    with pytest.raises(ValidationError) as refused:
        set_dynamic(service, dynamic_auth_mode="none")
    assert "dynamic_weaker_auth" in refused.value.message_dict
    assert "'private'" in str(refused.value)
    with pytest.raises(ValidationError):
        set_dynamic(service, dynamic_auth_mode="api_key", dynamic_required_roles="reader")
    with pytest.raises(ValidationError):
        set_dynamic(service, dynamic_auth_mode="either", dynamic_required_roles="admin")


def test_an_explicit_authentication_at_least_as_strict_needs_no_acknowledgement() -> None:
    set_dynamic(shop(), dynamic_auth_mode="api_key", dynamic_required_roles="admin,auditor")

    spec, warnings = served()

    assert spec.auth.required_roles == {"admin", "auditor"} and warnings == ()


def test_a_weaker_authentication_an_admin_accepted_is_served_with_a_warning() -> None:
    set_dynamic(shop(), dynamic_auth_mode="none", dynamic_weaker_auth=True)

    spec, warnings = served()

    assert spec.auth is None
    assert len(warnings) == 1 and "less protected than route(s) 'private'" in warnings[0]


def test_settings_that_make_no_sense_are_refused() -> None:
    service = shop()

    with pytest.raises(ValidationError, match="explicit"):
        set_dynamic(service, dynamic_required_roles="admin")
    with pytest.raises(ValidationError, match="explicit"):
        set_dynamic(service, dynamic_weaker_auth=True)


def test_a_route_made_stricter_later_pulls_an_unaccepted_explicit_setting_up_to_it() -> None:
    service = shop()
    set_dynamic(service, dynamic_auth_mode="api_key", dynamic_required_roles="admin")
    Route.objects.filter(name="private").update(required_roles="admin,root")

    spec, warnings = served()

    assert spec.auth.required_roles == {"admin", "root"}
    assert "uses the strictest route's authentication" in warnings[0]


def test_routes_no_single_credential_satisfies_leave_the_dynamic_route_out() -> None:
    service = shop()
    JwtIssuer.objects.create(name="idp", issuer="https://idp", audience="gw", algorithm="HS256", secret="s" * 32)
    Route.objects.create(service=service, name="tokens", path_prefix="/shop/tokens", auth_mode="jwt")

    with pytest.raises(ValidationError, match="no single credential"):
        set_dynamic(service)
    ServiceDynamicRoute.objects.create(service=service, dynamic_route=True)  # written past validation

    spec, warnings = served()

    assert spec is None and "is not served" in warnings[0]


def test_disabled_routes_do_not_count() -> None:
    service = shop()
    Route.objects.filter(name="private").update(enabled=False)
    set_dynamic(service, dynamic_auth_mode="none")

    spec, warnings = served()

    assert spec is not None and spec.auth is None and warnings == ()


def test_the_admin_page_warns_about_a_weaker_dynamic_route(admin_client: Client) -> None:
    service = set_dynamic(shop(), dynamic_auth_mode="none", dynamic_weaker_auth=True)

    page = admin_client.get(f"/admin/registry/service/{service.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Dynamic route" in text and "less protected than route(s) &#x27;private&#x27;" in text
    assert 'class="warning"' in text


def test_the_admin_page_shows_what_the_dynamic_route_asks(admin_client: Client) -> None:
    service = set_dynamic(shop())

    text = admin_client.get(f"/admin/registry/service/{service.pk}/change/").content.decode()

    assert "/api/v1/shop/{path} asks for api_key with role(s) admin." in text


def test_the_admin_api_carries_the_settings_and_refuses_a_weaker_one(admin_user: Any) -> None:
    service = shop()
    api = APIClient()
    api.force_authenticate(admin_user)

    shown = api.get(f"/admin/api/services/{service.slug}/").json()
    refused = api.patch(f"/admin/api/services/{service.slug}/", {"dynamic_route": True, "dynamic_auth_mode": "none"})
    accepted = api.patch(
        f"/admin/api/services/{service.slug}/",
        {"dynamic_route": True, "dynamic_auth_mode": "none", "dynamic_weaker_auth": True},
    )

    assert shown["dynamic_route"] is False and shown["dynamic_auth_mode"] == "strictest"
    assert refused.status_code == 422 and "dynamic_weaker_auth" in refused.json()["errors"]
    assert accepted.status_code == 200, accepted.json()
    assert ServiceDynamicRoute.objects.get(service=service).dynamic_weaker_auth


def test_the_yaml_format_takes_the_dynamic_route_settings(tmp_path: Any) -> None:
    from tests.registry.test_gateway_apply import apply

    apply(
        tmp_path,
        """\
        version: 1
        services:
          - name: Shop
            slug: shop
            dynamic_route: true
            routes:
              - name: private
                path_prefix: /shop/private
                auth_mode: jwt
                forward_authorization: true
        """,
    )

    spec, warnings = served()

    assert spec.auth.mode == "jwt" and spec.auth.forward_authorization and warnings == ()
    assert Route.objects.get(name="private").forward_authorization


def test_the_switch_turns_every_dynamic_route_and_its_warnings_off(settings: Any) -> None:
    set_dynamic(shop(), dynamic_auth_mode="none", dynamic_weaker_auth=True)
    settings.GATEWAY_DYNAMIC_SERVICE_ROUTES = False

    assert served() == (None, ())


def test_with_the_switch_off_the_admin_page_says_so_and_warns_of_nothing(admin_client: Client, settings: Any) -> None:
    service = set_dynamic(shop(), dynamic_auth_mode="none", dynamic_weaker_auth=True)
    settings.GATEWAY_DYNAMIC_SERVICE_ROUTES = False

    text = admin_client.get(f"/admin/registry/service/{service.pk}/change/").content.decode()

    assert "GATEWAY_DYNAMIC_SERVICE_ROUTES turns every dynamic route off" in text
    assert 'class="warning"' not in text
