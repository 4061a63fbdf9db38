"""Django admin for consumers and keys: a new key is shown once, in a message; admin roles as groups."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from registry.models import ApiKey, Consumer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["consumer", "apikey", "jwtissuer"])
def test_the_changelist_and_add_pages_render(admin_client: Client, model: str) -> None:
    assert admin_client.get(reverse(f"admin:registry_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:registry_{model}_add")).status_code == 200


def test_a_key_added_in_the_admin_is_shown_once(admin_client: Client) -> None:
    consumer = Consumer.objects.create(name="alice")

    response = admin_client.post(
        reverse("admin:registry_apikey_add"), {"consumer": consumer.pk, "label": "ci", "expires_at": ""}, follow=True
    )

    assert response.status_code == 200
    keys = re.findall(r"gw_[0-9a-f]{8}_[A-Za-z0-9]{32}", response.content.decode())
    assert len(set(keys)) == 1
    stored = ApiKey.objects.get(consumer=consumer)
    assert keys[0].startswith(f"gw_{stored.prefix}_")
    change = admin_client.get(reverse("admin:registry_apikey_change", args=[stored.pk]))
    assert keys[0] not in change.content.decode()


def test_the_revoke_action_revokes(admin_client: Client) -> None:
    consumer = Consumer.objects.create(name="alice")
    admin_client.post(reverse("admin:registry_apikey_add"), {"consumer": consumer.pk, "label": "", "expires_at": ""})
    key = ApiKey.objects.get(consumer=consumer)

    admin_client.post(
        reverse("admin:registry_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_the_issue_action_shows_each_new_key(admin_client: Client) -> None:
    consumer = Consumer.objects.create(name="alice")

    response = admin_client.post(
        reverse("admin:registry_consumer_changelist"),
        {"action": "issue_key", "_selected_action": [consumer.pk]},
        follow=True,
    )

    assert len(re.findall(r"gw_[0-9a-f]{8}_[A-Za-z0-9]{32}", response.content.decode())) == 1
    assert ApiKey.objects.filter(consumer=consumer).count() == 1


@pytest.fixture
def roles() -> None:
    """The groups as the migration makes them (transactional tests elsewhere flush migrated rows)."""
    migration = importlib.import_module("registry.migrations.0005_admin_roles")
    migration.create_roles(django_apps, None)


def perms(group: str) -> set[str]:
    return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))


@pytest.mark.usefixtures("roles")
def test_the_admin_roles_exist_as_groups() -> None:
    assert {"gateway admin", "operator", "compliance officer", "viewer"} <= set(
        Group.objects.values_list("name", flat=True)
    )
    assert {"add_route", "change_service", "delete_target", "add_apikey", "change_user"} <= perms("gateway admin")
    assert {"add_route", "change_service", "delete_target", "view_configversion"} <= perms("operator")
    assert not {"add_apikey", "add_consumer", "change_jwtissuer"} & perms("operator")
    for read_only in ("compliance officer", "viewer"):
        assert perms(read_only) and all(p.startswith("view_") for p in perms(read_only))
    assert "view_apikey" in perms("compliance officer")
    assert "view_apikey" not in perms("viewer")


@pytest.mark.usefixtures("roles")
def test_a_viewer_can_read_but_not_change_routes(client: Client) -> None:
    user = User.objects.create_user("v", password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name="viewer"))
    client.force_login(user)

    assert client.get(reverse("admin:registry_route_changelist")).status_code == 200
    assert client.get(reverse("admin:registry_route_add")).status_code == 403
    assert client.get(reverse("admin:registry_apikey_changelist")).status_code == 403


def test_the_consumer_page_shows_its_id_and_adds_a_key_shown_once_in_a_dialog(admin_client: Client) -> None:
    consumer = Consumer.objects.create(name="carol")
    page_url = reverse("admin:registry_consumer_change", args=[consumer.pk])
    page = admin_client.get(page_url).content.decode()
    assert f"{consumer.pk} (the {{client_id}} of /ws/{consumer.pk}" in page
    assert 'id="add-api-key"' in page and "new-key-dialog" not in page
    assert admin_client.get(reverse("admin:registry_consumer_add_key", args=[consumer.pk])).status_code == 405

    shown = admin_client.post(reverse("admin:registry_consumer_add_key", args=[consumer.pk]), follow=True)
    html = shown.content.decode()
    keys = re.findall(r'<code id="new-key"[^>]*>(gw_[0-9a-f]{8}_[A-Za-z0-9]{32})</code>', html)
    assert len(keys) == 1 and 'id="copy-new-key"' in html
    key = ApiKey.objects.get(consumer=consumer)
    assert keys[0].startswith(f"gw_{key.prefix}_") and key.label == "added in admin"
    assert key.prefix in html  # listed with the consumer's keys
    again = admin_client.get(page_url).content.decode()
    assert keys[0] not in again and "new-key-dialog" not in again  # shown once


def test_a_staff_user_who_may_not_add_keys_gets_no_key(client: Client) -> None:
    from django.contrib.auth.models import Permission

    consumer = Consumer.objects.create(name="dave")
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_consumer", "change_consumer"]))
    client.force_login(user)
    response = client.post(reverse("admin:registry_consumer_add_key", args=[consumer.pk]))
    assert response.status_code == 403 and not ApiKey.objects.filter(consumer=consumer).exists()
