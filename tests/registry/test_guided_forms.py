"""Forms that guide: human labels, help text on every field, feature sections collapsed until used,
switches and the authentication groups marked for the admin's script (its behaviour in a browser:
tests/dashboard/test_admin_browser.py)."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from registry.models import Consumer, Route, Service, Target
from registry.sections import save_with_sections

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ada", "ada@example.com", "x"))
    return client


@pytest.mark.parametrize("model", [Service, Route, Target, Consumer])
def test_every_field_of_the_configuration_forms_has_help_text(model: type) -> None:
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    form = admin.site._registry[model].get_form(request)
    missing = [name for name, field in form.base_fields.items() if not field.help_text]
    assert missing == []
    labels = [str(field.label) for field in form.base_fields.values()]
    assert not [label for label in labels if re.search(r"\b(Api|Jwt|Websocket)\b", label)]


def test_the_route_form_uses_human_labels_and_splits_authentication_by_mode(staff: Client) -> None:
    page = staff.get("/admin/registry/route/add/").content.decode()
    for label in ("API version:", "JWT issuers:", "WebSocket", "API key header:"):
        assert f">{label}</label>" in page  # a checkbox's label has no colon
    assert re.search(r'<fieldset class="module aligned gw-when-auth_mode gw-is-jwt gw-is-either"', page)
    assert re.search(r'<fieldset class="module aligned gw-when-auth_mode gw-is-api_key gw-is-either"', page)
    assert "registry/guide.js" in page


def test_feature_sections_start_collapsed_until_the_object_uses_them(staff: Client) -> None:
    service = Service.objects.create(name="Guided", slug="guided")
    plain = Route.objects.create(service=service, name="guided-plain", path_prefix="/guided-plain")
    cached = save_with_sections(
        Route(service=service), {"name": "guided-cached", "path_prefix": "/guided-cached", "cache_enabled": True}
    )
    fieldsets = {}
    for route in (plain, cached):
        page = staff.get(f"/admin/registry/route/{route.pk}/change/").content.decode()
        fieldsets[route.name] = re.findall(r'<fieldset class="module aligned ([^"]*)"[^>]*>\s*(?:<details>)?', page)
    cache_plain = next(c for c in fieldsets["guided-plain"] if "gw-switch" in c and "collapse" in c)
    assert cache_plain  # every unused section is collapsed, switched ones are marked
    used = [c for c in fieldsets["guided-cached"] if "gw-section" in c and "collapse" not in c]
    assert used == ["gw-section gw-switch"]  # the response cache is in use: open
    page = staff.get(f"/admin/registry/route/{cached.pk}/change/").content.decode()
    opened = re.search(r'<fieldset class="module aligned gw-section gw-switch"[^>]*>\s*<h2[^>]*>([^<]+)</h2>', page)
    assert opened is not None and opened.group(1) == "Response cache"
