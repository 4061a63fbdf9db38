"""History that explains: an object's History page shows the audit chain's field-level before and
after (its feature sections included) linking to each event, and configuration events in the audit
list name their route or service."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from compliance.models import AuditEvent
from registry.actors import acting_as
from registry.models import Route, Service
from registry.sections import save_with_sections

pytestmark = pytest.mark.django_db


def test_a_routes_history_shows_each_changed_field_before_and_after_with_a_link(admin_client: Client) -> None:
    with acting_as("ada", "admin"):
        service = Service.objects.create(name="History shop", slug="history-shop")
        route = save_with_sections(Route(service=service), {"name": "history-orders", "path_prefix": "/h-orders"})
    with acting_as("grace", "api"):
        save_with_sections(route, {"path_prefix": "/h-orders2", "cache_enabled": True, "cache_ttl": 30})
    page = admin_client.get(f"/admin/registry/route/{route.pk}/history/").content.decode()
    audit = page[page.index('id="audit-history"') :]
    assert "<td><code>path_prefix</code></td><td><del>&quot;/h-orders&quot;</del></td>" in audit
    assert "<ins>&quot;/h-orders2&quot;</ins>" in audit
    assert "<code>cache_ttl</code>" in audit and "<ins>30</ins>" in audit  # the cache section's row
    assert "grace <small>via api</small>" in audit and "ada <small>via admin</small>" in audit
    updated = AuditEvent.objects.filter(object_type="registry.route", action__endswith="updated").latest("seq")
    assert f'href="/admin/compliance/auditevent/{updated.pk}/change/"' in audit
    assert audit.index("grace") < audit.index("ada")  # newest first
    assert "<code>created_at</code>" not in audit


def test_without_the_audit_permission_the_history_page_says_so(client: Client) -> None:
    service = Service.objects.create(name="Quiet", slug="quiet")
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_service"))
    client.force_login(user)
    page = client.get(f"/admin/registry/service/{service.pk}/history/").content.decode()
    assert "needs the permission to view audit events" in page and "<code>slug</code>" not in page


def test_configuration_events_in_the_audit_list_name_their_route_or_service(admin_client: Client) -> None:
    service = Service.objects.create(name="Listed", slug="listed-shop")
    Route.objects.create(service=service, name="listed-route", path_prefix="/listed")
    page = admin_client.get("/admin/compliance/auditevent/?kind=config").content.decode()
    assert '<td class="field-route_label">listed-route</td>' in page
    assert '<td class="field-service_label">listed-shop</td>' in page


def test_the_export_page_has_its_heading_once(admin_client: Client) -> None:
    page = admin_client.get("/admin/compliance/auditevent/export/").content.decode()
    assert page.count("<h1>Export audit events</h1>") == 1
