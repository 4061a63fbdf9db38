"""Request validation through a real gateway: requests that match the service's document reach the
backend, others get a 400 problem+json naming each problem, before the backend is called."""

from __future__ import annotations

import json

from registry.models import Route
from tests.portal.backends import DocumentBackend, pets_document
from tests.portal.setup import publish, refresh_and_sync, shop
from tests.support.config import ConfigHelper
from tests.support.http import call, get
from tests.support.servers import GatewayProcess

JSON = {"Content-Type": "application/json"}


def test_requests_that_match_the_document_pass(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    shop(config, pets_backend, validate_requests=True)
    refresh_and_sync(config)

    assert get(gateway, "/shop/pets?limit=5").status == 200
    assert get(gateway, "/shop/pets/42").json()["path"] == "/pets/42"
    # 3.1: required holds for a readOnly property too (JSON Schema; openapi-core reads it so).
    pet = {"id": 1, "name": "Rex", "tag": None}
    posted = call(gateway, "POST", "/shop/pets", JSON, json.dumps(pet).encode())
    assert posted.status == 200 and json.loads(posted.json()["body"]) == pet


def test_a_request_that_does_not_match_gets_400_with_each_problem(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    shop(config, pets_backend, validate_requests=True)
    refresh_and_sync(config)

    query = get(gateway, "/shop/pets?limit=500").problem("request_invalid")
    path = get(gateway, "/shop/pets/rex").problem("request_invalid")
    body = call(gateway, "POST", "/shop/pets", JSON, json.dumps({"id": 1, "name": 7, "extra": 1}).encode()).problem()
    not_json = call(gateway, "POST", "/shop/pets", JSON, b"{name").problem()
    wrong_type = call(gateway, "POST", "/shop/pets", {"Content-Type": "text/plain"}, b"Rex").problem()
    missing = call(gateway, "POST", "/shop/pets", JSON).problem()
    unknown = get(gateway, "/shop/cats").problem("request_invalid")

    assert query["status"] == 400 and query["errors"] == [
        {"in": "query", "name": "limit", "detail": "500 is greater than the maximum of 50"}
    ]
    assert path["errors"][0]["in"] == "path" and path["errors"][0]["name"] == "petId"
    assert body["errors"] == [{"in": "body", "pointer": "/name", "detail": '7 is not of type "string"'}]
    assert not_json["errors"] == [{"in": "body", "pointer": "", "detail": "The body is not valid JSON."}]
    assert wrong_type["errors"][0]["in"] == "header" and wrong_type["errors"][0]["name"] == "content-type"
    assert missing["errors"] == [{"in": "body", "pointer": "", "detail": "The request needs a body."}]
    assert unknown["errors"][0]["in"] == "path"
    assert pets_backend.seen == []  # refused before the backend was called


def test_a_route_without_validation_is_not_checked(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    shop(config, pets_backend)
    refresh_and_sync(config)

    assert get(gateway, "/shop/pets?limit=500").status == 200
    assert get(gateway, "/shop/cats").status == 200


def test_a_new_document_version_is_enforced_after_the_next_refresh(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    shop(config, pets_backend, validate_requests=True)
    refresh_and_sync(config)
    assert get(gateway, "/shop/pets?limit=20").status == 200

    stricter = pets_document()
    stricter["paths"]["/pets"]["get"]["parameters"][0]["schema"]["maximum"] = 10
    pets_backend.document = stricter
    refresh_and_sync(config)

    assert get(gateway, "/shop/pets?limit=20").problem("request_invalid")["errors"][0]["name"] == "limit"


def test_a_route_whose_service_has_no_document_yet_answers_503(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    service = publish(config, pets_backend, "pets")
    config.route(service, "/shop", name="shop", validate_requests=True)
    config.sync()

    get(gateway, "/shop/pets").problem("api_document_missing")
    assert Route.objects.get(name="shop").portal.validate_requests
