"""GATEWAY_PORTAL_REQUIRE_AUTH: the documents need a consumer's API key or JWT (401 problem+json
without one); the docs page itself only holds the form that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.portal.backends import DocumentBackend
from tests.portal.setup import refresh_and_sync, shop
from tests.support.config import ConfigHelper
from tests.support.http import get
from tests.support.servers import GatewayProcess


@pytest.fixture
def locked_gateway(django_db_setup: None, django_db_blocker: object) -> Iterator[GatewayProcess]:
    process = GatewayProcess(env={"GATEWAY_PORTAL_REQUIRE_AUTH": "1"}).start()
    yield process
    process.stop()


def test_the_documents_need_a_consumer_credential(
    transactional_db: None, locked_gateway: GatewayProcess, pets_backend: DocumentBackend
) -> None:
    config = ConfigHelper(gateways=[locked_gateway])
    shop(config, pets_backend)
    _, key = config.api_key(config.consumer("dev"))
    disabled_key = config.api_key(config.consumer("gone", enabled=False))[1]
    refresh_and_sync(config)

    anonymous = get(locked_gateway, "/api/v1/openapi.json")
    wrong = get(locked_gateway, "/api/v1/openapi.json", {"Authorization": "Bearer gw_00000000_" + "x" * 32})
    disabled = get(locked_gateway, "/api/v1/openapi.json", {"Authorization": f"Bearer {disabled_key}"})
    with_key = get(locked_gateway, "/api/v1/openapi.json", {"Authorization": f"Bearer {key}"})
    in_header = get(locked_gateway, "/api/v1/services/pets/openapi.json", {"X-Api-Key": key})

    assert anonymous.problem("missing_credentials")["status"] == 401
    assert anonymous.header("www-authenticate") == 'Bearer realm="gateway"'
    assert wrong.problem("invalid_credentials")["status"] == 401
    assert disabled.status == 401
    assert with_key.status == 200 and "/shop/pets" in with_key.json()["paths"]
    assert in_header.status == 200
    page = get(locked_gateway, "/api/v1/docs")
    assert page.status == 200 and 'data-require-auth="1"' in page.body.decode()
