"""The dashboard as the admin's home: charts from the performance windows, health and breakers per
service and target, top routes, ratios, and the newest configuration changes with their authors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from breaker.backends import reset_state
from breaker.models import TargetHealth
from proxy.metrics import series
from proxy.metrics.windows import windows
from registry.actors import acting_as
from registry.models import Service, Target
from registry.sections import save_with_sections

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ada", "ada@example.com", "x"))
    return client


@pytest.fixture
def shop() -> Iterator[Service]:
    with acting_as("ada", "admin"):
        values = {"name": "Dash shop", "slug": "dash-shop", "breaker_enabled": True, "health_check_path": "/health"}
        service = save_with_sections(Service(), {**values, "health_check_interval": 10}, clean=False)
        up = Target.objects.create(service=service, host="127.0.0.1", port=9101)
        down = Target.objects.create(service=service, host="127.0.0.1", port=9102)
    now = timezone.now()
    TargetHealth.objects.create(target=up, status="healthy", checked_at=now, latency_ms=3.0)
    TargetHealth.objects.create(target=down, status="unhealthy", checked_at=now, latency_ms=9.0)
    yield service
    for target in (up, down):
        reset_state(target.pk)


def test_the_admin_home_is_the_dashboard_with_charts_and_then_the_configuration(staff: Client, shop: Service) -> None:
    for _ in range(40):
        windows.add("dash-shop", 0.03, error=False)
    windows.add("dash-shop", 0.5, error=True)
    page = staff.get("/admin/").content.decode()
    assert page.index('id="dashboard"') < page.index('id="configuration"') < page.index("app-registry")
    assert page.count('<svg class="chart"') == 6  # req/s, error rate and p95, over 15 minutes and an hour
    assert 'data-service="dash-shop" data-latest="' in page
    assert 'data-service="dash-shop" data-latest=""' not in page  # it had requests: the line has a value
    assert 'class="legend-item"' in page and "Dash shop" in page


def test_a_service_with_a_target_down_shows_it_per_target_and_all_down_turns_it_red(
    staff: Client, shop: Service
) -> None:
    page = staff.get("/admin/overview/live").content.decode()
    card = page[page.index('data-service="dash-shop"') :]
    assert '<span class="badge badge-degraded">degraded</span>' in card.split("</table>")[0]
    assert "127.0.0.1:9102" in card and '<span class="badge badge-unhealthy">unhealthy</span>' in card
    assert '<span class="badge badge-closed">closed</span>' in card  # the breaker of each target
    TargetHealth.objects.filter(target__port=9101).update(status="unhealthy", checked_at=timezone.now())
    page = staff.get("/admin/overview/live").content.decode()
    assert 'class="dash-service dash-service-unhealthy" data-service="dash-shop"' in page
    assert "0/2 targets usable" in page


def test_a_stale_check_is_shown_as_stale_not_as_down(staff: Client, shop: Service) -> None:
    TargetHealth.objects.update(checked_at=timezone.now() - timedelta(hours=1))
    page = staff.get("/admin/overview/live").content.decode()
    assert '<span class="badge badge-stale">stale</span>' in page and "2/2 targets usable" in page


def test_the_newest_configuration_changes_show_their_author_and_link_to_the_object(
    staff: Client, shop: Service
) -> None:
    with acting_as("grace", "api"):
        shop.description = "renamed"
        shop.save()
    page = staff.get("/admin/").content.decode()
    changes = page[page.index('id="dash-changes"') :]
    assert "gateway.service.updated" in changes or "service.updated" in changes
    assert "grace <small>via api</small>" in changes and "ada <small>via admin</small>" in changes
    assert f'href="/admin/registry/service/{shop.pk}/change/"' in changes
    assert "(description" in changes  # the changed fields
    assert changes.index("grace") < changes.index("ada")  # newest first


def test_top_routes_and_the_rate_limit_ratio_come_from_the_series(staff: Client, shop: Service) -> None:
    from ratelimit.metrics import DECISIONS

    series.REQUESTS.labels("dash-shop", "dash-busy", "2xx").inc(500)
    series.REQUESTS.labels("dash-shop", "dash-busy", "5xx").inc(500)
    before = staff.get("/admin/overview/live").content.decode()
    DECISIONS.labels("dash-policy", "limited").inc(10**6)
    page = staff.get("/admin/overview/live").content.decode()
    top = page[page.index('id="dash-top-routes"') :]
    assert (
        '<a href="/admin/registry/route/?q=dash-busy">dash-busy</a></td><td>dash-shop</td><td>1000</td><td>50 %</td>'
        in top
    )
    ratio = page[page.index('id="ratelimit-ratio"') :].split("<")[0]
    assert ratio != before[before.index('id="ratelimit-ratio"') :].split("<")[0]
    assert "%" in ratio


def test_the_dashboard_and_its_fragment_are_for_staff_only(shop: Service) -> None:
    assert Client().get("/admin/overview/live").status_code == 302
    assert Client().get("/admin/").status_code == 302
    user = get_user_model().objects.create_user("someone", password="x")
    client = Client()
    client.force_login(user)
    assert client.get("/admin/overview/live").status_code == 302  # to the admin's login page


def test_view_site_goes_to_the_dashboard_and_pages_carry_a_favicon(staff: Client) -> None:
    page = staff.get("/admin/registry/service/").content.decode()
    assert 'href="/admin/overview/">View site' in page.replace("\n", "")
    assert '<link rel="icon" href="data:image/svg+xml' in page


def test_the_simulator_link_appears_only_once_its_page_exists(staff: Client) -> None:
    from django.urls import NoReverseMatch, reverse

    page = staff.get("/admin/overview/").content.decode()
    try:
        assert f'href="{reverse("gateway-simulator")}"' in page
    except NoReverseMatch:
        assert "Route simulator" not in page


def test_the_newest_changes_are_only_for_those_who_may_read_the_audit_trail(shop: Service) -> None:
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    page = client.get("/admin/overview/live").content.decode()
    assert 'id="dash-changes"' not in page and 'id="dash-health"' in page
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(get_user_model().objects.get(pk=user.pk))
    assert 'id="dash-changes"' in client.get("/admin/overview/live").content.decode()
