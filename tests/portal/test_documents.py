"""Which backend documents the portal keeps: OpenAPI 3.0 and 3.1, JSON or YAML, valid, self-contained."""

from __future__ import annotations

import json

import pytest

from portal.documents import DocumentRefused, parse
from tests.portal.backends import pets_document


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_it_keeps_a_valid_document_of_either_version(version: str) -> None:
    document = parse(json.dumps(pets_document(version)).encode(), "application/json")

    assert document.openapi_version == version
    assert len(document.digest) == 64


def test_the_digest_is_the_same_for_the_same_document_whatever_its_layout() -> None:
    content = pets_document()
    compact = parse(json.dumps(content, separators=(",", ":")).encode())
    spaced = parse(json.dumps(content, indent=4).encode())

    assert compact.digest == spaced.digest


def test_it_reads_yaml() -> None:
    text = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"

    assert parse(text.encode(), "application/yaml").content["info"]["title"] == "t"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"swagger": "2.0", "info": {}, "paths": {}}', "Only OpenAPI 3.0 and 3.1"),
        (b"[1, 2]", "not a JSON or YAML object"),
        (b'{"openapi": "3.1.0", "paths": {}}', "Not a valid OpenAPI document"),
        (b"{not json", "not valid JSON"),
    ],
)
def test_it_refuses_what_is_not_a_valid_openapi_3_document(raw: bytes, why: str) -> None:
    with pytest.raises(DocumentRefused, match=why):
        parse(raw, "application/json")


def test_it_refuses_references_outside_the_document() -> None:
    content = pets_document()
    content["paths"]["/pets"]["get"]["responses"]["200"] = {"$ref": "https://example.com/responses.json#/ok"}

    with pytest.raises(DocumentRefused, match="points outside the document"):
        parse(json.dumps(content).encode())


def test_it_refuses_yaml_aliases() -> None:
    text = "openapi: 3.1.0\ninfo: &i {title: t, version: '1'}\nx-copy: *i\npaths: {}\n"

    with pytest.raises(DocumentRefused, match="aliases"):
        parse(text.encode(), "application/yaml")
