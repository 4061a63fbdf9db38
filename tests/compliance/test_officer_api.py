"""The audit search and export in the admin API: the admin's filters, keyset pages, permissions."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from compliance.models import AuditEvent, ComplianceJob
from compliance.services import run_job
from tests.compliance.officer_support import add, event, streamed

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail() -> None:
    add(*[event(request_id=f"r{n}", status=502 if n % 2 else 200) for n in range(7)])


@pytest.mark.usefixtures("trail")
def test_the_search_pages_by_seq_with_the_admin_filters(officer_client: Client) -> None:
    first = officer_client.get("/admin/api/audit-events/?status=502&limit=2").json()

    assert [e["request_id"] for e in first["results"]] == ["r1", "r3"]
    second = officer_client.get(first["next"]).json()
    assert [e["request_id"] for e in second["results"]] == ["r5"] and second["next"] is None


@pytest.mark.usefixtures("trail")
def test_a_bad_filter_is_a_400(officer_client: Client) -> None:
    assert officer_client.get("/admin/api/audit-events/?at_from=someday").status_code == 400
    assert officer_client.get("/admin/api/audit-events/export/?_format=xml").status_code == 400


@pytest.mark.usefixtures("trail")
def test_the_export_streams_and_is_recorded_as_from_the_api(officer_client: Client) -> None:
    response = officer_client.get("/admin/api/audit-events/export/?status=200&_format=jsonl")

    assert response.status_code == 200
    lines = streamed(response).decode().splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["r0", "r2", "r4", "r6"]
    record = AuditEvent.objects.get(action="compliance.export.created")
    assert record.source == "api" and record.actor == "olivia"


@override_settings(GATEWAY_AUDIT_SYNC_EXPORT_LIMIT=1)
@pytest.mark.usefixtures("trail")
def test_a_large_export_answers_202_with_a_job_to_poll(officer_client: Client) -> None:
    response = officer_client.get("/admin/api/audit-events/export/?_format=csv")

    assert response.status_code == 202
    job_url = response["Location"]
    assert officer_client.get(job_url).json()["status"] == "pending"
    trail_size = AuditEvent.objects.count()  # the trail, and the officer's own sign-in and account events
    run_job(ComplianceJob.objects.get().pk)
    status = officer_client.get(job_url).json()
    assert status["status"] == "done" and status["rows"] == trail_size
    assert officer_client.get(status["download"]).status_code == 200


@pytest.mark.usefixtures("trail")
def test_a_viewer_searches_but_may_not_export(viewer_client: Client) -> None:
    assert viewer_client.get("/admin/api/audit-events/").status_code == 200
    assert viewer_client.get("/admin/api/audit-events/export/").status_code == 403


def test_strangers_get_nothing(client: Client) -> None:
    assert client.get("/admin/api/audit-events/").status_code in (401, 403)
