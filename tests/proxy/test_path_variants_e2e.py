"""Issue 13, section 1, through the real gateway: no spelling of a protected path and no dynamic
route reaches the backend with less than the protected route's authentication."""

from __future__ import annotations

import pytest

from tests.proxy.test_path_variants import REFUSED, VARIANTS
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get, raw
from tests.support.servers import BackendThread, GatewayProcess


@pytest.fixture
def keys(config: ConfigHelper, backend: BackendThread) -> dict[str, dict[str, str]]:
    """svc-a as in the issue: /api/v1/svc-a/private needs role admin; /svc-a is open; its backend
    path /orders is behind /orders (API key); the service opted in to its dynamic route."""
    service = config.service("svc-a", targets=[backend], dynamic_route=True)
    config.route(service, "/api/v1/svc-a/private", name="private", auth_mode="api_key", required_roles="admin",
                 strip_prefix=False)  # fmt: skip
    config.route(service, "/orders", name="orders", auth_mode="api_key", strip_prefix=False)
    config.route(service, "/svc-a", name="open")
    _, reader = config.api_key(config.consumer("reader"))
    _, admin = config.api_key(config.consumer("root", roles="admin"))
    config.sync()
    return {
        "none": {},
        "reader": {"Authorization": f"Bearer {reader}"},
        "admin": {"Authorization": f"Bearer {admin}"},
    }


def served_by(reply: Reply) -> str:
    assert reply.status == 200, reply
    return str(reply.json()["path"])


def test_the_protected_route_answers_as_configured(keys: dict[str, dict[str, str]], gateway: GatewayProcess) -> None:
    assert get(gateway, "/api/v1/svc-a/private", keys["none"]).status == 401
    assert get(gateway, "/api/v1/svc-a/private", keys["reader"]).problem("insufficient_role")["status"] == 403
    assert served_by(get(gateway, "/api/v1/svc-a/private", keys["admin"])) == "/api/v1/svc-a/private"


@pytest.mark.parametrize("path", VARIANTS)
def test_no_variant_of_the_protected_path_reaches_the_backend_without_the_admin_role(
    keys: dict[str, dict[str, str]], gateway: GatewayProcess, backend: BackendThread, path: str
) -> None:
    before = backend.count()

    anonymous = get(gateway, path, keys["none"])
    reader = get(gateway, path, keys["reader"])
    reached = backend.count()
    admin = get(gateway, path, keys["admin"])

    assert anonymous.status == 401 and anonymous.problem()["request_id"]
    assert reader.status == 403
    assert reached == before
    assert admin.status == 200, admin
    assert backend.count() == before + 1


@pytest.mark.parametrize("path", [p for p in REFUSED if p.startswith("/") and "\\" not in p])
def test_a_path_with_no_single_reading_gets_400_and_never_reaches_the_backend(
    keys: dict[str, dict[str, str]], gateway: GatewayProcess, backend: BackendThread, path: str
) -> None:
    # Raw bytes straight onto the socket: no client library gets a chance to clean the path first.
    request = f"GET {path} HTTP/1.1\r\nHost: gw.test\r\nAuthorization: {keys['admin']['Authorization']}\r\n\r\n"
    before = backend.count()

    reply = raw(gateway, request.encode("latin-1"))

    assert reply.status == 400, reply
    assert reply.header("content-type") == "application/problem+json"
    assert reply.header("x-gateway-error") in ("invalid_path", "bad_request")
    assert backend.count() == before


def test_a_raw_backslash_is_refused(keys: dict[str, dict[str, str]], gateway: GatewayProcess) -> None:
    reply = raw(gateway, b"GET /api/v1/svc-a\\private HTTP/1.1\r\nHost: gw.test\r\n\r\n")

    assert reply.status == 400
    assert reply.header("x-gateway-error") in ("invalid_path", "bad_request")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/svc-a/x", "/api/v1/svc-a/orders/1", "/api/v1/svc-a/Orders", "/api/v1/svc-a//orders", "/api/v1/svc-a"],
)
def test_the_dynamic_route_asks_for_the_strictest_route_of_the_service(
    keys: dict[str, dict[str, str]], gateway: GatewayProcess, path: str
) -> None:
    assert get(gateway, path, keys["none"]).status == 401
    assert get(gateway, path, keys["reader"]).status == 403
    assert get(gateway, path, keys["admin"]).status == 200


def test_a_backend_path_behind_a_protected_route_needs_its_credentials_everywhere(
    keys: dict[str, dict[str, str]], gateway: GatewayProcess
) -> None:
    for path in ("/orders/1", "/Orders/1", "/orders;x/1", "/ORDERS./1", "/%6frders/1"):
        assert get(gateway, path, keys["none"]).status == 401, path
        assert served_by(get(gateway, path, keys["reader"])) == path


def test_the_open_route_stays_open_for_what_it_takes(keys: dict[str, dict[str, str]], gateway: GatewayProcess) -> None:
    assert served_by(get(gateway, "/svc-a/anything")) == "/anything"
    assert served_by(get(gateway, "/SVC-A/Anything;v=1")) == "/Anything;v=1"
