"""The audit search in Django admin: each filter, the search box, capped counts, the read-only detail."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from compliance import admin_filters, search
from compliance.gdpr import erase_subject
from compliance.models import AuditEvent
from compliance.pseudonyms import pseudonym
from registry.actors import acting_as
from registry.models import Consumer
from tests.compliance.officer_support import add, at, event

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:compliance_auditevent_changelist")


def found(client: Client, query: str, access: bool = False) -> list[str]:
    """The events listed: a request by its request id, any other event by its action. The officer's
    own account and sign-in (kind "access", made by the fixtures) are left out unless ``access``."""
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200, response
    events = [e for e in response.context["cl"].result_list if access or e.kind != "access"]
    return sorted(e.request_id or e.action for e in events)


@pytest.fixture
def trail() -> Consumer:
    with acting_as("ann", "admin"):  # records gateway.consumer.created now (2026-11 or later), by ann
        alice = Consumer.objects.create(name="alice")
    add(
        event(request_id="r1", at=at("2026-03-01T10:00"), consumer=str(alice.pk), consumer_name="alice"),
        event(request_id="r2", at=at("2026-03-02T10:00"), status=502, service="billing", route="invoices"),
        event(request_id="r3", at=at("2026-03-03T10:00"), status=429, client_ip="198.51.100.7"),
        event(request_id="r4", at=at("2026-03-04T10:00"), status=401, client_ip=pseudonym("203.0.113.9")),
        event(request_id="", kind="config", action="gateway.route.updated", actor="root", object_type="route",
              object_id="7", data={"before": {"timeout": 5}, "after": {"timeout": 9}}, at=at("2026-03-05T10:00")),
    )  # fmt: skip
    return alice


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?request_id=r3", ["r3"]),
        ("?q=r2", ["r2"]),
        ("?consumer=alice", ["r1"]),
        ("?service=billing", ["r2"]),
        ("?route=invoices", ["r2"]),
        ("?status=429", ["r3"]),
        ("?status_class=4xx", ["r3", "r4"]),
        ("?status_class=5xx&service=shop", []),
        ("?client_ip=198.51.100.7", ["r3"]),
        ("?client_ip=203.0.113.9", ["r4"]),  # recorded as a pseudonym: found by the real IP
        ("?at_from=2026-03-02&at_to=2026-03-03", ["r2", "r3"]),
        ("?at_from=2026-03-03T09:00", ["gateway.consumer.created", "gateway.route.updated", "r3", "r4"]),
        ("?kind=config", ["gateway.consumer.created", "gateway.route.updated"]),
        ("?action=gateway.route", ["gateway.route.updated"]),
        ("?action=gateway.consumer.created", ["gateway.consumer.created"]),
        ("?actor=root", ["gateway.route.updated"]),
        ("?actor=ann", ["gateway.consumer.created"]),
        ("?at__year=2026&at__month=3&at__day=2", ["r2"]),
        ("", ["gateway.consumer.created", "gateway.route.updated", "r1", "r2", "r3", "r4"]),
    ],
)
@pytest.mark.usefixtures("trail")
def test_each_filter_selects_the_events_it_names(officer_client: Client, query: str, expected: list[str]) -> None:
    assert found(officer_client, query) == expected


@pytest.mark.usefixtures("trail")
def test_sign_ins_and_account_changes_are_found_by_their_kind(officer_client: Client) -> None:
    listed = found(officer_client, "?kind=access", access=True)
    assert {"access.user.created", "access.user.updated", "access.signin.succeeded"} <= set(listed)
    assert found(officer_client, "?kind=access") == []
    assert "access.signin.succeeded" in found(officer_client, "?action=access.signin&actor=olivia", access=True)


@pytest.mark.usefixtures("trail")
def test_the_consumer_filter_accepts_the_consumer_id(officer_client: Client, trail: Consumer) -> None:
    assert found(officer_client, f"?consumer={trail.pk}") == ["r1"]


def test_an_erased_event_is_not_found_by_the_real_identity(officer_client: Client) -> None:
    add(event(request_id="gone", client_ip="198.51.100.99"))
    assert found(officer_client, "?client_ip=198.51.100.99") == ["gone"]

    erase_subject("ip", "198.51.100.99", actor="olivia")  # the event now holds the pseudonym, erased

    assert found(officer_client, "?client_ip=198.51.100.99") == []
    assert found(officer_client, f"?client_ip={pseudonym('198.51.100.99')}") == ["gone"]


@pytest.mark.usefixtures("trail")
def test_a_malformed_filter_value_is_refused_not_a_server_error(officer_client: Client) -> None:
    response = officer_client.get(CHANGELIST + "?at_from=yesterday")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert officer_client.get(CHANGELIST + "?status=5xx").status_code == 302


def test_counting_stops_at_the_cap(officer_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_filters, "COUNT_CAP", 7)
    add(*[event() for _ in range(12)])

    response = officer_client.get(CHANGELIST)

    cl = response.context["cl"]
    assert cl.result_count == 7
    assert cl.full_result_count is None  # no COUNT(*) of the whole table either


@pytest.mark.usefixtures("trail")
def test_the_detail_page_shows_data_and_before_after(officer_client: Client) -> None:
    config = AuditEvent.objects.get(action="gateway.route.updated")

    page = officer_client.get(reverse("admin:compliance_auditevent_change", args=[config.pk])).content.decode()

    assert "<th>timeout</th><td>5</td><td>9</td>" in page
    assert "&quot;after&quot;: {" in page  # the pretty-printed data
    assert 'name="_save"' not in page


@pytest.mark.usefixtures("trail")
def test_audit_events_are_read_only_even_for_a_superuser(admin_user: User) -> None:
    client = Client()
    client.force_login(admin_user)
    target = AuditEvent.objects.first()
    assert target is not None
    change = reverse("admin:compliance_auditevent_change", args=[target.pk])

    assert client.get(reverse("admin:compliance_auditevent_add")).status_code == 403
    assert client.post(change, {"status": "200"}).status_code == 403
    assert (
        client.post(reverse("admin:compliance_auditevent_delete", args=[target.pk]), {"post": "yes"}).status_code == 403
    )
    assert AuditEvent.objects.filter(pk=target.pk, status=target.status).exists()
    changelist = client.get(CHANGELIST).content.decode()
    assert "delete_selected" not in changelist


def test_the_date_hierarchy_links_years_then_months_then_days_without_distinct_queries(
    officer_client: Client, django_assert_max_num_queries: Any
) -> None:
    add(event(request_id="y24", at=at("2024-06-01T10:00")), event(request_id="y26", at=at("2026-03-02T10:00")))

    top = officer_client.get(CHANGELIST).content.decode()
    assert all(f"?at__year={y}" in top for y in (2024, 2025, 2026))
    year = officer_client.get(CHANGELIST + "?at__year=2026").content.decode()
    assert "?at__month=3&amp;at__year=2026" in year and "All dates" in year
    month = officer_client.get(CHANGELIST + "?at__year=2026&at__month=2").content.decode()
    assert "at__day=28" in month and "at__day=29" not in month
    with django_assert_max_num_queries(12) as captured:
        officer_client.get(CHANGELIST + "?at__year=2026&at__month=3")
    assert not [q for q in captured.captured_queries if "DISTINCT" in q["sql"].upper()]


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2026-11-26T10:30+18:50", False, "2026-11-25T15:40:00+00:00"),  # an offset Postgres does not take
        ("0001-01-01T00:30+01:00", False, "0001-01-01T00:00:00+00:00"),  # before the calendar: since ever
        ("9999-12-31T23:30-01:00", True, "9999-12-31T23:59:59.999999+00:00"),  # after it: until ever
    ],
)
def test_a_moment_with_any_iso_offset_is_searched_in_utc(value: str, end: bool, expected: str) -> None:
    moment = search.parse_moment(value, end=end)
    assert moment.isoformat() == expected
    assert list(AuditEvent.objects.filter(at__gte=moment)) is not None  # the database takes it (no DataError)
