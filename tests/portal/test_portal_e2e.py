"""The portal through a real gateway process: one valid document for every published service, at the
paths callers use, and each service's own; changes of the configuration show at once."""

from __future__ import annotations

from openapi_spec_validator import validate

from registry.models import Route, Service
from tests.portal.backends import DocumentBackend
from tests.portal.setup import publish, refresh_and_sync, shop
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess


def test_the_merged_document_is_valid_and_shows_gateway_paths(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend, legacy_backend: DocumentBackend
) -> None:
    shop(config, pets_backend)
    legacy = publish(config, legacy_backend, "legacy", base_path="")
    config.route(legacy, "/old", name="old", auth_mode="api_key")
    refresh_and_sync(config)

    reply = get(gateway, "/api/v1/openapi.json")

    document = reply.json()
    assert reply.status == 200
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": gateway.url}]
    assert {"/shop/pets", "/shop/pets/{petId}", "/old/pets", "/old/pets/{petId}"} == set(document["paths"])
    assert document["paths"]["/old/pets"]["get"]["security"] == [{"gatewayApiKey": []}]
    assert document["paths"]["/shop/pets"]["get"]["security"] == []
    # What the document promises, the gateway does: the path reaches the backend's /pets.
    assert get(gateway, "/shop/pets?limit=3").json()["path"] == "/pets"


def test_each_service_has_its_own_document_in_its_own_version(
    config: ConfigHelper, gateway: GatewayProcess, legacy_backend: DocumentBackend
) -> None:
    legacy = publish(config, legacy_backend, "legacy")
    config.route(legacy, "/old", name="old")
    refresh_and_sync(config)

    reply = get(gateway, "/api/v1/services/legacy/openapi.json")

    assert reply.status == 200
    assert reply.json()["openapi"] == "3.0.3"
    assert set(reply.json()["paths"]) == {"/old/pets", "/old/pets/{petId}"}
    validate(reply.json())
    get(gateway, "/api/v1/services/nope/openapi.json").problem("not_found")


def test_disabled_and_removed_routes_and_services_disappear(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend, legacy_backend: DocumentBackend
) -> None:
    route = shop(config, pets_backend)
    legacy = publish(config, legacy_backend, "legacy")
    config.route(legacy, "/old", name="old")
    refresh_and_sync(config)
    assert "/shop/pets" in get(gateway, "/api/v1/openapi.json").json()["paths"]

    Route.objects.filter(pk=route.pk).update(enabled=False)  # no signal: bump by a real save below
    Route.objects.get(pk=route.pk).save()
    assert "/shop/pets" not in get(gateway, "/api/v1/openapi.json").json()["paths"]

    Route.objects.get(pk=route.pk).delete()
    service = Service.objects.get(slug="legacy")
    service.enabled = False
    service.save()

    document = get(gateway, "/api/v1/openapi.json").json()
    assert document["paths"] == {}
    get(gateway, "/api/v1/services/legacy/openapi.json").problem("not_found")


def test_a_service_that_does_not_publish_stays_out(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    service = config.service("quiet", targets=[pets_backend], openapi_url="/openapi.json")
    config.route(service, "/quiet", name="quiet")
    refresh_and_sync(config)

    assert get(gateway, "/api/v1/openapi.json").json()["paths"] == {}
    get(gateway, "/api/v1/services/quiet/openapi.json").problem("not_found")


def test_the_docs_page_and_its_assets_are_served_by_the_gateway(gateway: GatewayProcess) -> None:
    page = get(gateway, "/api/v1/docs")

    assert page.status == 200 and str(page.header("content-type")).startswith("text/html")
    html = page.body.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    for asset in ("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", "portal/docs.js"):
        assert get(gateway, f"/static/{asset}").status == 200
