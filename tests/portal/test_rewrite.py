"""A backend's document as callers of the gateway see it: paths through each route, security from
the route's auth mode, the gateway as the server; and every published service in one valid document."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from portal.dialect import as_31
from portal.merge import merge
from portal.rewrite import Options, RouteView, ServiceView, gateway_path, service_document
from tests.portal.backends import pets_document

OPTIONS = Options("https://api.example.com")


def route(name: str = "pets", prefix: str = "/shop", **fields: Any) -> RouteView:
    values: dict[str, Any] = {
        "name": name,
        "prefix": prefix,
        "host": "",
        "methods": (),
        "strip_prefix": True,
        "api_version": "",
        "version_source": "either",
        "priority": 0,
        "auth_mode": "none",
    }
    return RouteView(**(values | fields))


def service(
    *routes: RouteView, document: dict[str, Any] | None = None, base_path: str = "", slug: str = "pets"
) -> ServiceView:
    return ServiceView(slug, slug.title(), "", base_path, document or pets_document(), routes)


@pytest.mark.parametrize(
    ("fields", "base_path", "backend", "expected"),
    [
        ({}, "", "/pets", "/shop/pets"),
        ({}, "/v1", "/v1/pets", "/shop/pets"),
        ({}, "/v1", "/other/pets", None),
        ({"strip_prefix": False}, "", "/shop/pets", "/shop/pets"),
        ({"strip_prefix": False}, "", "/pets", None),
        ({"api_version": "v2", "version_source": "path"}, "", "/pets", "/shop/v2/pets"),
        ({"api_version": "v2", "version_source": "header"}, "", "/pets", "/shop/pets"),
        ({"prefix": "/"}, "", "/pets", "/pets"),
    ],
)
def test_a_backend_path_maps_to_the_path_callers_send(
    fields: dict[str, Any], base_path: str, backend: str, expected: str | None
) -> None:
    assert gateway_path(route(**fields), base_path, backend) == expected


def test_the_document_shows_gateway_paths_and_the_gateway_as_its_only_server() -> None:
    out = service_document(service(route()), [], OPTIONS)

    assert set(out["paths"]) == {"/shop/pets", "/shop/pets/{petId}"}
    assert out["servers"] == [{"url": "https://api.example.com"}]
    assert all(op["tags"] == ["Pets"] for item in out["paths"].values() for k, op in item.items() if k == "get")
    validate(out)


def test_the_documents_own_server_path_is_part_of_the_backend_path() -> None:
    document = pets_document() | {"servers": [{"url": "http://backend.internal/api"}]}

    out = service_document(service(route(), document=document, base_path="/api"), [], OPTIONS)

    assert set(out["paths"]) == {"/shop/pets", "/shop/pets/{petId}"}


def test_a_route_shows_only_the_methods_it_allows() -> None:
    out = service_document(service(route(methods=("GET",))), [], OPTIONS)

    assert "post" not in out["paths"]["/shop/pets"]
    assert "get" in out["paths"]["/shop/pets"]


def test_a_header_version_becomes_a_required_header() -> None:
    out = service_document(service(route(api_version="v2", version_source="header")), [], OPTIONS)

    header = out["paths"]["/shop/pets"]["get"]["parameters"][-1]
    assert header["in"] == "header" and header["required"] and header["schema"]["enum"] == ["v2"]


def test_operations_a_more_specific_route_takes_are_left_out() -> None:
    other = route("admin", "/shop/pets")

    out = service_document(service(route()), [other], OPTIONS)

    assert out["paths"] == {}


@pytest.mark.parametrize(
    ("fields", "schemes"),
    [
        ({"auth_mode": "none"}, []),
        (
            {"auth_mode": "api_key", "api_key_header": "X-Api-Key"},
            [{"gatewayApiKey": []}, {"apiKeyHeader_X-Api-Key": []}],
        ),
        ({"auth_mode": "jwt"}, [{"gatewayJwt": []}]),
        ({"auth_mode": "either"}, [{"gatewayApiKey": []}, {"gatewayJwt": []}]),
        ({"auth_mode": "jwt", "allow_anonymous": True}, [{"gatewayJwt": []}, {}]),
        ({"auth_mode": "api_key", "api_key_query_param": "key"}, [{"gatewayApiKey": []}, {"apiKeyQuery_key": []}]),
    ],
)
def test_security_follows_the_routes_auth_mode(fields: dict[str, Any], schemes: list[dict[str, list[str]]]) -> None:
    out = service_document(service(route(**fields)), [], OPTIONS)

    operation = out["paths"]["/shop/pets"]["get"]
    assert operation["security"] == schemes
    assert set(out.get("components", {}).get("securitySchemes", {})) == {name for s in schemes for name in s}
    if schemes and {} not in schemes:
        assert "401" in operation["responses"]
    validate(out)


def test_two_routes_to_one_operation_get_unique_operation_ids() -> None:
    out = service_document(service(route("a", "/a"), route("b", "/b")), [], OPTIONS)

    ids = [
        op["operationId"]
        for item in out["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids)) == 6


def test_services_merge_into_one_valid_31_document_with_their_own_components() -> None:
    legacy = service(route("legacy", "/legacy"), document=pets_document("3.0.3"), slug="legacy")
    pets = service(route("pets", "/pets-api"), slug="pets")
    documents = [
        (s.slug, service_document(ServiceView(s.slug, s.name, "", "", as_31(s.document), s.routes), [], OPTIONS))
        for s in (legacy, pets)
    ]

    merged = merge(documents, "https://api.example.com", "Gateway APIs")

    validate(merged)
    assert merged["openapi"] == "3.1.0"
    assert {"/legacy/pets", "/pets-api/pets"} <= set(merged["paths"])
    assert {"legacy.Pet", "pets.Pet"} <= set(merged["components"]["schemas"])
    ref = merged["paths"]["/legacy/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/legacy.Pet"
    assert merged["components"]["schemas"]["legacy.Pet"]["properties"]["tag"]["type"] == ["string", "null"]
    ids = [
        op["operationId"]
        for item in merged["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))
    assert [tag["name"] for tag in merged["tags"]] == ["Legacy", "Pets"]
