"""Fetching each service's document from its backend: the last good one is kept, a failure is
recorded with its time and shown in the admin, a new document bumps the config version; the beat
schedule and the admin's "refresh now" run the same service."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_celery_beat.models import PeriodicTask

from portal import services, tasks
from portal.models import ServiceDocument
from registry.models import Service, Target
from registry.sections import save_with_sections
from registry.services import current_config_version
from tests.portal.backends import DocumentBackend

pytestmark = pytest.mark.django_db


def documented(backend: DocumentBackend, path: str = "/openapi.json") -> Service:
    service = save_with_sections(Service(), {"name": "Pets", "slug": "pets", "openapi_url": path, "publish_docs": True})
    Target.objects.create(service=service, host="127.0.0.1", port=backend.port)
    return service


def test_a_good_document_is_kept_with_its_version(pets_backend: DocumentBackend) -> None:
    service = documented(pets_backend)
    before = current_config_version()

    result = services.refresh_document(service)

    row = ServiceDocument.objects.get(service=service)
    assert result.ok and result.changed
    assert row.document == pets_backend.document and row.openapi_version == "3.1.0"
    assert row.fetched_at is not None and row.error == ""
    assert current_config_version() > before


def test_the_same_document_again_changes_nothing(pets_backend: DocumentBackend) -> None:
    service = documented(pets_backend)
    services.refresh_document(service)
    before = current_config_version()

    result = services.refresh_document(service)

    assert result.ok and not result.changed
    assert current_config_version() == before


@pytest.mark.parametrize(
    ("breakage", "error"),
    [("invalid", "Not a valid OpenAPI document"), ("status", "answered 500"), ("garbage", "not valid JSON")],
)
def test_a_broken_document_keeps_the_previous_one_and_records_why(
    pets_backend: DocumentBackend, breakage: str, error: str
) -> None:
    service = documented(pets_backend)
    services.refresh_document(service)
    good = ServiceDocument.objects.get(service=service)
    if breakage == "invalid":
        pets_backend.document.pop("info")
    elif breakage == "status":
        pets_backend.status = 500
    else:
        pets_backend.raw = b"{oops"

    result = services.refresh_document(service)

    row = ServiceDocument.objects.get(service=service)
    assert not result.ok and error in result.error
    assert row.document == good.document and row.digest == good.digest and row.fetched_at == good.fetched_at
    assert error in row.error and row.checked_at is not None and good.checked_at is not None
    assert row.checked_at > good.checked_at


def test_a_backend_that_does_not_answer_is_an_error_too() -> None:
    service = save_with_sections(Service(), {"name": "Gone", "slug": "gone", "openapi_url": "/openapi.json"})
    Target.objects.create(service=service, host="127.0.0.1", port=9)

    result = services.refresh_document(service)

    assert not result.ok and "127.0.0.1:9" in result.error
    assert ServiceDocument.objects.get(service=service).document is None


def test_the_scheduled_task_refreshes_every_documented_service(pets_backend: DocumentBackend) -> None:
    documented(pets_backend)
    save_with_sections(Service(), {"name": "Plain", "slug": "plain"})

    assert tasks.refresh_documents() == 1
    assert ServiceDocument.objects.count() == 1
    schedule = PeriodicTask.objects.get(name="gateway API document refresh")
    assert schedule.task == "portal.tasks.refresh_documents" and schedule.enabled


def test_the_admin_shows_the_error_and_refreshes_on_demand(pets_backend: DocumentBackend) -> None:
    service = documented(pets_backend)
    admin = User.objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client = Client()
    client.force_login(admin)
    pets_backend.raw = b"{oops"

    response = client.post(
        "/admin/registry/service/", {"action": "refresh_api_documents", "_selected_action": [service.pk]}, follow=True
    )
    page = client.get(f"/admin/registry/service/{service.pk}/change/").content.decode()

    assert "Pets: The document is not valid JSON." in response.content.decode()
    assert "The last refresh at" in page and "failed" in page and "not valid JSON" in page
    pets_backend.raw = None
    client.post("/admin/registry/service/", {"action": "refresh_api_documents", "_selected_action": [service.pk]})
    page = client.get(f"/admin/registry/service/{service.pk}/change/").content.decode()
    assert "OpenAPI 3.1.0 fetched at" in page and "good" in page
    assert json.loads(client.get("/api/v1/services/pets/openapi.json").content)["openapi"] == "3.1.0"
