"""Verb functions of the portal: the refresh task, the admin action and the tests call these.

``refresh_document`` fetches one service's document, validates it and keeps it when it is good and
new; a failure keeps the last good document and records the error and the time. A new document
bumps the config version, so every gateway process recompiles its request validators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portal import documents, fetch
from portal.models import ServiceDocument, ServicePortal
from registry.models import Service
from registry.services import bump_config_version

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refreshed:
    service: str  # slug
    ok: bool
    changed: bool  # a new document was kept
    error: str = ""


def documented_services() -> list[Service]:
    """Enabled services with a document path, whether or not they publish it (validation needs it too)."""
    with_path = ServicePortal.objects.exclude(openapi_url="").values_list("service_id", flat=True)
    return list(Service.objects.filter(enabled=True, pk__in=with_path).prefetch_related("targets"))


def refresh_documents() -> list[Refreshed]:
    return [refresh_document(service) for service in documented_services()]


def refresh_document(service: Service) -> Refreshed:
    path = ServicePortal.objects.filter(service=service).values_list("openapi_url", flat=True).first()
    if not path:
        return Refreshed(service.slug, False, False, "The service has no OpenAPI document path.")
    addresses = [t.address for t in service.targets.all() if t.enabled]
    try:
        fetched = fetch.fetch(service.protocol, addresses, path, service.base_path)
        document = documents.parse(fetched.body, fetched.content_type)
    except (fetch.FetchFailed, documents.DocumentRefused) as exc:
        return _failed(service, str(exc))
    return _keep(service, document)


def _failed(service: Service, error: str) -> Refreshed:
    log.warning("API document of service %s not refreshed: %s", service.slug, error)
    now = timezone.now()
    updated = ServiceDocument.objects.filter(service=service).update(checked_at=now, error=error)
    if not updated:
        ServiceDocument.objects.create(service=service, checked_at=now, error=error)
    return Refreshed(service.slug, False, False, error)


def _keep(service: Service, document: documents.Document) -> Refreshed:
    now = timezone.now()
    with transaction.atomic():
        row, _ = ServiceDocument.objects.select_for_update().get_or_create(service=service)
        changed = row.digest != document.digest
        row.checked_at, row.error = now, ""
        if changed:
            row.document, row.digest, row.openapi_version = document.content, document.digest, document.openapi_version
            row.fetched_at = now
            # The validators are compiled from the document: a new one is a new table.
            bump_config_version()
        row.save()
    return Refreshed(service.slug, True, changed)
