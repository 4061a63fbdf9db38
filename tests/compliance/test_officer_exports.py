"""Exports of the filtered search as CSV, JSON Lines and JSON; recorded; large ones become jobs."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from compliance import chain
from compliance.models import AuditEvent, ComplianceJob
from compliance.services import export_dir, run_job
from tests.compliance.officer_support import add, at, event, streamed

pytestmark = pytest.mark.django_db
EXPORT = reverse("admin:compliance_auditevent_export")


@pytest.fixture
def trail() -> None:
    add(
        event(request_id="a1", status=200, at=at("2026-05-01T08:00"), path="/orders/1?x"),
        event(request_id="a2", status=502, at=at("2026-05-01T09:00"), error_reason="upstream_unreachable"),
        event(request_id="a3", status=503, at=at("2026-05-02T09:00"), path="=cmd|' /C calc'!A0"),
        event(request_id="b1", status=502, service="billing", headers={"accept": "*/*"}),
    )


def body(response: Any) -> str:
    return streamed(response).decode()


@pytest.mark.usefixtures("trail")
def test_a_csv_export_holds_exactly_the_filtered_rows(officer_client: Client) -> None:
    response = officer_client.post(EXPORT + "?service=shop&status_class=5xx", {"_format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [r["request_id"] for r in rows] == ["a2", "a3"]
    assert rows[0]["status"] == "502" and rows[0]["error_reason"] == "upstream_unreachable"
    assert rows[1]["path"] == "'=cmd|' /C calc'!A0"  # a spreadsheet would run it as a formula
    assert rows[0]["hash"] == AuditEvent.objects.get(request_id="a2").hash


@pytest.mark.usefixtures("trail")
def test_a_json_lines_export_has_one_object_per_line(officer_client: Client) -> None:
    response = officer_client.post(EXPORT + "?status=502", {"_format": "jsonl"})

    lines = body(response).splitlines()
    assert response["Content-Type"] == "application/x-ndjson"
    docs = [json.loads(line) for line in lines]
    assert [d["request_id"] for d in docs] == ["a2", "b1"]
    assert docs[1]["headers"] == {"accept": "*/*"}
    assert docs[0]["at"].startswith("2026-05-01T09:00:00")


@pytest.mark.usefixtures("trail")
def test_a_json_export_is_one_array_in_chain_order(officer_client: Client) -> None:
    response = officer_client.post(EXPORT + "?at_from=2026-05-01&at_to=2026-05-01", {"_format": "json"})

    docs = json.loads(body(response))
    assert [d["request_id"] for d in docs] == ["a1", "a2"]
    assert docs[0]["seq"] < docs[1]["seq"]


def test_an_empty_json_export_is_an_empty_array(officer_client: Client) -> None:
    response = officer_client.post(EXPORT + "?request_id=nothing", {"_format": "json"})
    assert json.loads(body(response)) == []


@pytest.mark.usefixtures("trail")
def test_every_export_is_recorded_in_the_chain(officer_client: Client) -> None:
    officer_client.post(EXPORT + "?status=502&p=2&o=1", {"_format": "csv"})

    record = AuditEvent.objects.get(action="compliance.export.created")
    assert record.kind == "compliance" and record.actor == "olivia" and record.source == "admin"
    assert record.data == {"filters": {"status": "502"}, "format": "csv", "rows": 2, "delivery": "stream"}
    assert chain.verify().ok


@pytest.mark.usefixtures("trail")
def test_the_export_page_shows_the_filters_and_the_count(officer_client: Client) -> None:
    page = officer_client.get(EXPORT + "?status=502").content.decode()
    assert "<code>status=502</code>" in page
    assert "Matching events: 2." in page


def test_the_changelist_links_the_export_with_its_filters(officer_client: Client) -> None:
    page = officer_client.get(reverse("admin:compliance_auditevent_changelist") + "?status=502").content.decode()
    assert f'href="{EXPORT}?status=502" id="export-results"' in page


def test_an_unknown_format_or_filter_value_is_a_400(officer_client: Client) -> None:
    assert officer_client.post(EXPORT, {"_format": "xlsx"}).status_code == 400
    assert officer_client.post(EXPORT + "?at_to=soon", {"_format": "csv"}).status_code == 400
    assert not AuditEvent.objects.filter(kind="compliance").exists()


def test_a_viewer_may_not_export(viewer_client: Client) -> None:
    assert viewer_client.get(reverse("admin:compliance_auditevent_changelist")).status_code == 200
    assert viewer_client.get(EXPORT).status_code == 403
    assert viewer_client.post(EXPORT, {"_format": "csv"}).status_code == 403
    assert "export-results" not in viewer_client.get(reverse("admin:compliance_auditevent_changelist")).content.decode()


@override_settings(GATEWAY_AUDIT_SYNC_EXPORT_LIMIT=2)
@pytest.mark.usefixtures("trail")
def test_a_large_export_becomes_a_job_with_a_download_link(officer_client: Client, viewer_client: Client) -> None:
    response = officer_client.post(EXPORT + "?service=shop", {"_format": "jsonl"})

    assert response.status_code == 202
    job = ComplianceJob.objects.get()
    assert response["Location"] == reverse("admin:compliance_compliancejob_change", args=[job.pk])
    assert job.status == "pending" and job.params == {"filters": {"service": "shop"}, "format": "jsonl"}
    assert not AuditEvent.objects.filter(kind="compliance").exists()  # recorded when written

    run_job(job.pk)  # what the Celery task export_audit_events does

    job.refresh_from_db()
    assert (job.status, job.rows) == ("done", 3)
    status_page = officer_client.get(response["Location"]).content.decode()
    download = reverse("admin:compliance_compliancejob_download", args=[job.pk])
    assert download in status_page
    got = officer_client.get(download)
    assert got.status_code == 200 and got["Content-Disposition"].startswith("attachment")
    lines = streamed(got).decode().splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["a1", "a2", "a3"]
    assert viewer_client.get(download).status_code == 403
    record = AuditEvent.objects.get(action="compliance.export.created")
    assert record.data["rows"] == 3 and record.data["job"] == job.pk and record.actor == "olivia"
    assert export_dir().stat().st_mode & 0o077 == 0  # exports/ is private to the gateway user


def test_the_download_of_an_unfinished_or_unknown_job_is_a_404(officer_client: Client) -> None:
    job = ComplianceJob.objects.create(kind="export", params={"filters": {}, "format": "csv"})
    assert officer_client.get(reverse("admin:compliance_compliancejob_download", args=[job.pk])).status_code == 404
    assert officer_client.get(reverse("admin:compliance_compliancejob_download", args=[job.pk + 1])).status_code == 404


def test_a_job_that_fails_says_why(officer_client: Client) -> None:
    job = ComplianceJob.objects.create(kind="export", params={"filters": {"status": "x"}, "format": "csv"})

    run_job(job.pk)

    job.refresh_from_db()
    assert job.status == "failed" and "status must be a number" in job.error
    assert run_job(job.pk).status == "failed"  # a redelivered task does not run it again


def test_the_status_page_of_an_unfinished_job_refreshes_itself(officer_client: Client) -> None:
    job = ComplianceJob.objects.create(kind="export", params={"filters": {}, "format": "csv"})
    page = officer_client.get(reverse("admin:compliance_compliancejob_change", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    ComplianceJob.objects.filter(pk=job.pk).update(status="failed")
    page = officer_client.get(reverse("admin:compliance_compliancejob_change", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page
