"""Config versions in the admin: the list, a version's page, the comparison, and "Roll back to this
version" (its own permission, a confirmation page with the diff, a reason)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from registry.actors import acting_as
from registry.models import ConfigRevision, Route, Service
from registry.services import config_change

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def versions() -> tuple[ConfigRevision, ConfigRevision]:
    with acting_as("alice", "admin"), config_change():
        service = Service.objects.create(name="Orders", slug="orders")
        route = Route.objects.create(service=service, name="orders", path_prefix="/orders")
    first = ConfigRevision.objects.get()
    with config_change():
        route.path_prefix = "/moved"
        route.save()
    return first, ConfigRevision.objects.exclude(pk=first.pk).get()


def user_client(*codenames: str) -> Client:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_the_list_and_a_version_page_show_who_where_what_and_the_snapshot(
    admin_client: Client, versions: tuple[ConfigRevision, ConfigRevision]
) -> None:
    first, second = versions

    listed = admin_client.get(reverse("admin:registry_configrevision_changelist")).content.decode()
    page = admin_client.get(reverse("admin:registry_configrevision_change", args=[first.pk])).content.decode()

    assert "route orders: path_prefix &#x27;/orders&#x27; -&gt; &#x27;/moved&#x27;" in listed and "alice" in listed
    assert "path_prefix: /orders" in page and "Roll back to this version" in page
    assert f'<option value="{second.version}">' in page


def test_two_versions_compare_field_by_field(
    admin_client: Client, versions: tuple[ConfigRevision, ConfigRevision]
) -> None:
    first, second = versions
    url = reverse("admin:registry_configrevision_compare", args=[second.version])

    page = admin_client.get(f"{url}?against={first.version}").content.decode()

    assert "<td>route orders</td><td>path_prefix</td><td><code>&#x27;/orders&#x27;</code></td>" in page
    assert "1 difference(s)" in page


def test_the_confirmation_shows_the_diff_and_a_reason_rolls_back(
    admin_client: Client, versions: tuple[ConfigRevision, ConfigRevision]
) -> None:
    first, _ = versions
    url = reverse("admin:registry_configrevision_rollback", args=[first.version])

    confirm = admin_client.get(url).content.decode()
    without_reason = admin_client.post(url, {"reason": ""})
    assert without_reason.status_code == 200 and Route.objects.get().path_prefix == "/moved"
    done = admin_client.post(url, {"reason": "the move broke clients"})

    assert "~ route orders: path_prefix &#x27;/moved&#x27; -&gt; &#x27;/orders&#x27;" in confirm
    assert "<td>route orders</td><td>path_prefix</td>" in confirm
    assert done.status_code == 302 and Route.objects.get().path_prefix == "/orders"
    made = ConfigRevision.objects.order_by("-version").first()
    assert made is not None and (made.source, made.reason) == ("rollback", "the move broke clients")


def test_rolling_back_needs_its_own_permission(versions: tuple[ConfigRevision, ConfigRevision]) -> None:
    first, _ = versions
    client = user_client("view_configrevision", "change_route")

    page = client.get(reverse("admin:registry_configrevision_change", args=[first.pk])).content.decode()
    refused = client.post(reverse("admin:registry_configrevision_rollback", args=[first.version]), {"reason": "x"})

    assert "Roll back to this version" not in page
    assert refused.status_code == 403 and Route.objects.get().path_prefix == "/moved"


def test_an_object_changed_outside_the_applied_file_carries_a_warning(admin_client: Client) -> None:
    from registry.declarative import apply_config

    text = "version: 1\nservices:\n  - name: Shop\n    slug: shop\n    routes:\n"
    text += "      - {name: cart, path_prefix: /cart}\n      - {name: pay, path_prefix: /pay}\n"
    with acting_as("ci", "apply"):
        apply_config(text)
    cart = Route.objects.get(name="cart")
    with acting_as("alice", "admin"), config_change():
        cart.priority = 5
        cart.save()

    changed = admin_client.get(reverse("admin:registry_route_change", args=[cart.pk])).content.decode()
    untouched = admin_client.get(reverse("admin:registry_route_change", args=[Route.objects.get(name="pay").pk]))

    applied = ConfigRevision.objects.get(source="apply")
    assert f"Changed outside the file applied in v{applied.version} (ci): priority." in changed
    assert "Changed outside the file" not in untouched.content.decode()
