"""Through the gateway to a real TLS backend on 127.0.0.1: each https service's own CA bundle, client
certificate (mutual TLS) and server name, with a test CA made here; every failure is a 502
``upstream_tls`` and a log line naming the service, never a request sent without verification."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.models import Service, Target
from tests.proxy.raw_backend import CertificateAuthority
from tests.support.config import ConfigHelper
from tests.support.http import Reply, get
from tests.support.servers import GatewayProcess
from tests.support.tls_backend import TLSBackend, server_context


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path, "Backend CA")


@pytest.fixture
def backend(ca: CertificateAuthority) -> Iterator[TLSBackend]:
    """A backend whose certificate names 127.0.0.1 (the targets' host)."""
    server = TLSBackend(server_context(*ca.issue("backend", server=True, addresses=("127.0.0.1",)))).start()
    yield server
    server.stop()


@pytest.fixture
def mtls_backend(ca: CertificateAuthority) -> Iterator[TLSBackend]:
    """The same, but it requires a client certificate signed by ``ca``."""
    cert, key = ca.issue("backend", server=True, addresses=("127.0.0.1",))
    server = TLSBackend(server_context(cert, key, client_ca=ca.ca_file)).start()
    yield server
    server.stop()


def https_service(config: ConfigHelper, slug: str, backend: TLSBackend, **tls: str) -> Service:
    service = config.service(slug, targets=[backend], protocol="https", retries=0, **tls)
    config.route(service, f"/{slug}")
    return service


def logged(gateway: GatewayProcess, *words: str, timeout: float = 5) -> str:
    """The first new log line holding every word (the gateway writes its log a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        text = gateway.log_path.read_text(errors="replace")
        found = [line for line in text.splitlines() if all(word in line for word in words)]
        if found or time.monotonic() > deadline:
            assert found, f"no log line with {words}:\n{text[-3000:]}"
            return found[-1]
        time.sleep(0.05)


def seen(reply: Reply) -> dict[str, object]:
    assert reply.status == 200, reply
    return dict(json.loads(reply.body))


def test_it_verifies_the_backend_with_the_services_own_ca_bundle(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority, backend: TLSBackend
) -> None:
    https_service(config, "trusted", backend, tls_ca_bundle=ca.ca_file.read_text())
    config.sync()

    first, second = get(gateway, "/trusted/a"), get(gateway, "/trusted/b")

    assert seen(first) == {"client": "", "connection": 1}
    assert seen(second)["connection"] == 1  # verified once, then kept alive
    assert backend.connections == 1


def test_it_answers_502_upstream_tls_for_a_backend_another_ca_signed_and_logs_the_service(
    config: ConfigHelper, gateway: GatewayProcess, tmp_path: Path, backend: TLSBackend
) -> None:
    other = CertificateAuthority(tmp_path, "Other CA")
    https_service(config, "wrong-ca", backend, name="Wrong CA Service", tls_ca_bundle=other.ca_file.read_text())
    config.sync()

    reply = get(gateway, "/wrong-ca/x")

    assert reply.status == 502
    reply.problem("upstream_tls")
    assert "certificate verify failed" in logged(gateway, reply.header("x-request-id") or "?", "'Wrong CA Service'")


def test_a_service_with_no_tls_settings_trusts_only_the_system_store_never_an_unverified_backend(
    config: ConfigHelper, gateway: GatewayProcess, backend: TLSBackend
) -> None:
    https_service(config, "plain", backend)
    config.sync()

    reply = get(gateway, "/plain/x")

    assert reply.status == 502
    reply.problem("upstream_tls")
    assert backend.connections == 0  # the handshake failed: no request reached the backend


def test_a_backend_that_requires_a_client_certificate_refuses_the_handshake_without_one(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority, mtls_backend: TLSBackend
) -> None:
    https_service(config, "anonymous", mtls_backend, name="Anonymous", tls_ca_bundle=ca.ca_file.read_text())
    config.sync()

    reply = get(gateway, "/anonymous/x")

    assert reply.status == 502
    reply.problem("upstream_tls")
    line = logged(gateway, reply.header("x-request-id") or "?", "'Anonymous'")
    assert "certificate required" in line.lower() or "handshake failure" in line.lower(), line
    assert mtls_backend.connections == 0


def test_it_shows_the_services_client_certificate_to_a_backend_that_requires_one(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority, mtls_backend: TLSBackend
) -> None:
    cert, key = ca.issue("gateway-orders", server=False)
    pem = ca.ca_file.read_text()
    https_service(config, "mutual", mtls_backend, tls_ca_bundle=pem, tls_client_cert=str(cert), tls_client_key=str(key))
    config.sync()

    assert seen(get(gateway, "/mutual/x")) == {"client": "gateway-orders", "connection": 1}


def test_two_services_on_one_origin_with_different_client_certificates_never_share_a_connection(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority, mtls_backend: TLSBackend
) -> None:
    pem = ca.ca_file.read_text()
    for name in ("alpha", "beta"):
        cert, key = ca.issue(f"gateway-{name}", server=False)
        https_service(config, name, mtls_backend, tls_ca_bundle=pem, tls_client_cert=str(cert), tls_client_key=str(key))
    config.sync()

    answers = [seen(get(gateway, f"/{name}/{n}")) for n in range(3) for name in ("alpha", "beta")]

    assert [a["client"] for a in answers] == ["gateway-alpha", "gateway-beta"] * 3
    alpha = {a["connection"] for a in answers if a["client"] == "gateway-alpha"}
    beta = {a["connection"] for a in answers if a["client"] == "gateway-beta"}
    assert len(alpha) == len(beta) == 1 and alpha != beta  # one kept-alive connection each
    assert mtls_backend.connections == 2


def test_the_server_name_override_is_sent_as_sni_and_verified(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority
) -> None:
    server = TLSBackend(server_context(*ca.issue("orders.internal.test", server=True))).start()
    try:
        pem = ca.ca_file.read_text()
        https_service(config, "named", server, tls_ca_bundle=pem, tls_server_name="orders.internal.test")
        https_service(config, "unnamed", server, tls_ca_bundle=pem)  # verified against 127.0.0.1: no match
        config.sync()

        named, unnamed = get(gateway, "/named/x"), get(gateway, "/unnamed/x")
    finally:
        server.stop()

    assert seen(named)["client"] == ""
    assert "orders.internal.test" in server.server_names
    assert unnamed.status == 502
    unnamed.problem("upstream_tls")


def test_a_service_whose_tls_files_cannot_be_loaded_answers_502_and_the_rest_of_the_table_works(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority, tmp_path: Path, backend: TLSBackend
) -> None:
    pem = ca.ca_file.read_text()
    missing = str(tmp_path / "nowhere.crt")
    https_service(config, "broken", backend, name="Broken Files", tls_ca_bundle=pem, tls_client_cert=missing)
    https_service(config, "fine", backend, tls_ca_bundle=pem)
    config.sync()

    broken, fine = get(gateway, "/broken/x"), get(gateway, "/fine/x")

    assert broken.status == 502
    broken.problem("upstream_tls")
    line = logged(gateway, broken.header("x-request-id") or "?", "'Broken Files'")
    assert missing in line and "No such file" in line
    _, health = gateway.get_json("/health/detailed")
    assert any("'Broken Files'" in warning for warning in health["checks"]["config"]["warnings"]), health
    assert seen(fine)["client"] == ""
    assert backend.connections == 1  # only the working service's


def test_targets_reached_by_name_are_verified_against_that_name(
    config: ConfigHelper, gateway: GatewayProcess, ca: CertificateAuthority
) -> None:
    server = TLSBackend(server_context(*ca.issue("localhost", server=True))).start()
    try:
        service = config.service("byname", protocol="https", retries=0, tls_ca_bundle=ca.ca_file.read_text())
        Target.objects.create(service=service, host="localhost", port=server.port)
        config.route(service, "/byname")
        config.sync()
        reply = get(gateway, "/byname/x")
    finally:
        server.stop()

    assert seen(reply)["client"] == ""
    assert server.server_names == ["localhost"]
