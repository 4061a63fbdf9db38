"""Published services for the portal's end-to-end tests: a 3.1 and a 3.0 backend behind routes."""

from __future__ import annotations

from typing import Any

from portal import services
from registry.models import Route, Service
from tests.portal.backends import DocumentBackend
from tests.support.config import ConfigHelper


def publish(config: ConfigHelper, backend: DocumentBackend, slug: str, **fields: Any) -> Service:
    service = config.service(slug, targets=[backend], openapi_url="/openapi.json", publish_docs=True, **fields)
    return service


def refresh_and_sync(config: ConfigHelper) -> None:
    results = services.refresh_documents()
    assert all(r.ok for r in results), results
    config.sync()


def shop(config: ConfigHelper, backend: DocumentBackend, **route_fields: Any) -> Route:
    service = publish(config, backend, "pets")
    return config.route(service, "/shop", name="shop", **route_fields)
