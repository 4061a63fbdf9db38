"""Health everywhere: badges in the service, target and route lists and on their pages, read for a
whole list page at once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from breaker.backends import reset_state
from breaker.models import TargetHealth
from registry.models import Route, Service, Target
from registry.sections import save_with_sections

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ada", "ada@example.com", "x"))
    return client


@pytest.fixture
def shops() -> Iterator[list[Service]]:
    made = []
    for n in range(3):
        values = {"name": f"Badge shop {n}", "slug": f"badge-shop-{n}", "health_check_path": "/health"}
        service = save_with_sections(Service(), {**values, "breaker_enabled": True}, clean=False)
        for port in (9200 + 2 * n, 9201 + 2 * n):
            target = Target.objects.create(service=service, host="127.0.0.1", port=port)
            TargetHealth.objects.create(target=target, status="healthy", checked_at=timezone.now())
        Route.objects.create(service=service, name=f"badge-route-{n}", path_prefix=f"/badge-{n}")
        made.append(service)
    yield made
    for target in Target.objects.all():
        reset_state(target.pk)


def _down(service: Service) -> None:
    TargetHealth.objects.filter(target__service=service).update(status="unhealthy", checked_at=timezone.now())


def _row(page: str, text: str) -> str:
    start = page.index(text)
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_a_service_whose_targets_are_all_down_is_red_in_the_service_list(staff: Client, shops: list[Service]) -> None:
    _down(shops[1])
    page = staff.get("/admin/registry/service/").content.decode()
    assert '<span class="badge badge-healthy">healthy</span> <small title="targets usable now">2/2</small>' in _row(
        page, "Badge shop 0"
    )
    assert '<span class="badge badge-unhealthy">unhealthy</span> <small title="targets usable now">0/2</small>' in _row(
        page, "Badge shop 1"
    )


def test_the_target_list_shows_health_and_breaker_state(staff: Client, shops: list[Service]) -> None:
    TargetHealth.objects.filter(target__port=9200).update(status="unhealthy")
    page = staff.get("/admin/registry/target/").content.decode()
    row = _row(page, "127.0.0.1:9200")
    assert "badge-unhealthy" in row and '<span class="badge badge-closed">closed</span>' in row
    assert "badge-healthy" in _row(page, "127.0.0.1:9201")


def test_the_route_list_and_page_show_their_services_health(staff: Client, shops: list[Service]) -> None:
    _down(shops[2])
    page = staff.get("/admin/registry/route/").content.decode()
    assert "badge-unhealthy" in _row(page, "badge-route-2") and "badge-healthy" in _row(page, "badge-route-0")
    route = Route.objects.get(name="badge-route-2")
    form = staff.get(f"/admin/registry/route/{route.pk}/change/").content.decode()
    assert "Service health" in form and "127.0.0.1:9204" in form and "badge-unhealthy" in form


def test_a_list_page_reads_health_with_the_same_queries_whatever_its_length(
    staff: Client, shops: list[Service]
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get("/admin/registry/service/").status_code == 200
        return len(queries)

    few = count()
    for n in range(3, 8):
        service = Service.objects.create(name=f"Badge shop {n}", slug=f"badge-shop-{n}")
        Target.objects.create(service=service, host="127.0.0.1", port=9300 + n)
    assert count() == few


def test_the_lists_show_health_second_and_fit_a_wide_screen(staff: Client, shops: list[Service]) -> None:
    for url, columns in (
        ("/admin/registry/service/", ["name", "health_badge", "slug"]),
        ("/admin/registry/target/", ["address", "health_badge", "breaker_badge", "service"]),
        ("/admin/registry/route/", ["name", "service_health_badge", "matches"]),
    ):
        page = staff.get(url).content.decode()
        found = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
        assert found[: len(columns)] == columns
        assert len(found) <= 9  # a 1,400 px screen, with the filters beside the list
    page = staff.get("/admin/registry/route/").content.decode()
    assert '<td class="field-matches">any method /badge-0</td>' in page


def test_the_live_health_panel_shows_every_time_in_one_format(staff: Client, shops: list[Service]) -> None:
    page = staff.get(f"/admin/registry/service/{shops[0].pk}/change/").content.decode()
    panel = page[page.index("127.0.0.1:9200") :].split("</table>")[0]
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", panel)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d", panel)  # no ISO text beside formatted times
