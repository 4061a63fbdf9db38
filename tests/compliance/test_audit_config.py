"""Control-plane changes from the admin, the admin API, gateway_apply and a shell are chain events
with the actor, the source and before/after values, secrets removed."""

from __future__ import annotations

import getpass
import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from compliance import chain
from compliance.models import AuditEvent, RedactionRule, RouteAudit
from registry.models import Route, Service
from registry.services import issue_api_key
from tests.support.config import ConfigHelper

pytestmark = pytest.mark.django_db


def config_events(action: str | None = None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(kind="config").order_by("seq")
    if action is not None:
        events = events.filter(action=action)
    return list(events)


def test_an_admin_save_is_recorded_with_the_user_and_the_admin_source(admin_client: Client) -> None:
    service = Service.objects.create(name="Orders", slug="orders")
    data = {
        "name": "orders-new",
        "service": service.pk,
        "enabled": "on",
        "path_prefix": "/shop",
        "methods": "GET",
        "version_source": "either",
        "priority": "0",
        "strip_prefix": "on",
        "auth_mode": "none",
        "audit": "on",
        "phi": "on",
        "identity_headers": "consumer-id,consumer-name,roles,subject",
    }
    response = admin_client.post(reverse("admin:registry_route_add"), data)
    assert response.status_code == 302, response.content[:2000]
    route = Route.objects.get(name="orders-new")
    assert RouteAudit.objects.get(route=route).phi
    (event,) = config_events("gateway.route.created")
    assert event.actor == "admin" and event.source == "admin"
    assert event.object_type == "registry.route" and event.object_id == str(route.pk)
    assert event.data["before"] is None and event.data["after"]["path_prefix"] == "/shop"
    # The audit settings are the compliance app's section of the route: a record of their own.
    (settings,) = config_events("gateway.routeaudit.created")
    assert (settings.actor, settings.object_type, settings.object_id) == (
        "admin",
        "compliance.routeaudit",
        str(route.pk),
    )
    assert settings.data["after"]["phi"] is True


def test_an_admin_api_update_is_recorded_with_before_and_after() -> None:
    user = User.objects.create_user("ops", password="s3cret-pass", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="registry"))
    api = APIClient()
    api.force_authenticate(user)
    service = Service.objects.create(name="Orders", slug="orders")
    route = Route.objects.create(service=service, name="orders", path_prefix="/orders", methods="GET")
    response = api.patch(f"/admin/api/routes/{route.pk}/", {"path_prefix": "/orders2"}, format="json")
    assert response.status_code == 200, response.content
    (event,) = config_events("gateway.route.updated")
    assert event.actor == "ops" and event.source == "api"
    assert event.data["before"]["path_prefix"] == "/orders" and event.data["after"]["path_prefix"] == "/orders2"
    assert event.data["changed"] == ["path_prefix"]
    response = api.patch(f"/admin/api/routes/{route.pk}/", {"phi": True}, format="json")
    assert response.status_code == 200 and response.json()["phi"] is True and response.json()["audit"] is True
    assert config_events("gateway.routeaudit.created")[-1].data["after"]["phi"] is True
    response = api.patch(f"/admin/api/routes/{route.pk}/", {"audit": False}, format="json")
    assert config_events("gateway.routeaudit.updated")[-1].data["changed"] == ["audit"]


def test_gateway_apply_records_its_changes_with_the_given_actor(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            version: 1
            services:
              - name: Orders
                slug: orders
                targets:
                  - host: 10.0.0.1
                    port: 8080
                routes:
                  - name: orders
                    path_prefix: /orders
                    phi: true
            """
        )
    )
    call_command("gateway_apply", str(path), "--actor", "deploy-bot", stdout=io.StringIO())
    events = config_events()
    assert {e.action for e in events} == {
        "gateway.service.created",
        "gateway.target.created",
        "gateway.route.created",
        "gateway.routeaudit.created",
    }
    assert {(e.actor, e.source) for e in events} == {("deploy-bot", "apply")}
    assert RouteAudit.objects.get(route__name="orders").phi
    call_command("gateway_apply", str(path), stdout=io.StringIO())  # no change: nothing recorded
    assert len(config_events()) == 4


def test_a_shell_change_is_recorded_with_the_os_user_and_deletes_keep_the_before(
    django_capture_on_commit_callbacks: Any,
) -> None:
    rule = RedactionRule.objects.create(kind="query", name="ssn")
    rule.delete()
    created, deleted = config_events()
    assert created.action == "gateway.redactionrule.created" and deleted.action == "gateway.redactionrule.deleted"
    assert deleted.actor == getpass.getuser() and deleted.source == "shell"
    assert deleted.data == {"before": created.data["after"], "after": None}


def test_api_key_secrets_never_reach_the_trail() -> None:
    consumer = ConfigHelper(gateways=[]).consumer("alice")
    issued = issue_api_key(consumer, label="ci")
    (event,) = config_events("gateway.apikey.created")
    assert "digest" not in event.data["after"]
    assert issued.api_key.digest not in str(event.data) and issued.key not in str(event.data)


def test_a_change_and_its_record_commit_or_roll_back_together() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        Service.objects.create(name="Gone", slug="gone")
        raise RuntimeError("the change fails after the save")
    assert not config_events()
    Service.objects.create(name="Kept", slug="kept")
    assert len(config_events("gateway.service.created")) == 1
    assert chain.verify().ok


def test_a_cascade_delete_records_every_deleted_object() -> None:
    service = Service.objects.create(name="Orders", slug="orders")
    Route.objects.create(service=service, name="orders", path_prefix="/orders")
    service.delete()
    assert {e.action for e in config_events()} >= {"gateway.route.deleted", "gateway.service.deleted"}
