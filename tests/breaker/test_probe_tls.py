"""Health probes of https targets verify them as the gateway's upstream client does: with the
service's CA bundle, client certificate and server name, against a real TLS backend on 127.0.0.1
(a test CA made here). A backend only a private CA vouches for is not reported down; one the gateway
would refuse is not reported up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from breaker import services
from breaker.models import TargetHealth
from breaker.probes import ProbeResult
from registry.models import Service, Target
from registry.sections import save_with_sections
from tests.proxy.raw_backend import CertificateAuthority
from tests.support.tls_backend import TLSBackend, server_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path, "Probe CA")


@pytest.fixture
def backend(ca: CertificateAuthority) -> Iterator[TLSBackend]:
    server = TLSBackend(server_context(*ca.issue("backend", server=True, addresses=("127.0.0.1",)))).start()
    yield server
    server.stop()


def probe(slug: str, port: int, **tls: str) -> tuple[ProbeResult, str]:
    values = {"name": slug.title(), "slug": slug, "protocol": "https", "health_check_path": "/healthz", **tls}
    service = save_with_sections(Service(), values, clean=False)
    target = Target.objects.create(service=service, host="127.0.0.1", port=port)
    (result,) = services.probe_now([target])
    return result, TargetHealth.objects.get(target=target).status


def test_a_backend_signed_by_the_services_own_ca_is_healthy(ca: CertificateAuthority, backend: TLSBackend) -> None:
    result, status = probe("private", backend.port, tls_ca_bundle=ca.pem)

    assert result.ok, result.error
    assert status == "healthy"


def test_a_backend_the_system_store_does_not_trust_is_unhealthy_with_the_reason(backend: TLSBackend) -> None:
    result, status = probe("untrusted", backend.port)

    assert not result.ok
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert status == "unhealthy"


def test_the_services_client_certificate_is_shown_to_a_backend_that_requires_one(ca: CertificateAuthority) -> None:
    cert, key = ca.issue("backend", server=True, addresses=("127.0.0.1",))
    server = TLSBackend(server_context(cert, key, client_ca=ca.ca_file)).start()
    client_cert, client_key = ca.issue("prober", server=False)
    try:
        with_cert, _ = probe(
            "mtls", server.port, tls_ca_bundle=ca.pem, tls_client_cert=str(client_cert), tls_client_key=str(client_key)
        )
        without, _ = probe("nocert", server.port, tls_ca_bundle=ca.pem)
    finally:
        server.stop()

    assert with_cert.ok, with_cert.error
    assert not without.ok


def test_the_server_name_override_is_sent_and_verified(ca: CertificateAuthority) -> None:
    server = TLSBackend(server_context(*ca.issue("orders.internal.test", server=True))).start()
    try:
        named, _ = probe("named", server.port, tls_ca_bundle=ca.pem, tls_server_name="orders.internal.test")
        unnamed, _ = probe("unnamed", server.port, tls_ca_bundle=ca.pem)  # verified against 127.0.0.1
    finally:
        server.stop()

    assert named.ok, named.error
    assert "orders.internal.test" in server.server_names
    assert not unnamed.ok


def test_tls_files_that_cannot_be_loaded_fail_the_probe_with_the_reason(
    ca: CertificateAuthority, backend: TLSBackend, tmp_path: Path
) -> None:
    missing = str(tmp_path / "nowhere.crt")
    result, status = probe("broken", backend.port, tls_ca_bundle=ca.pem, tls_client_cert=missing)

    assert not result.ok
    assert result.error.startswith("TLS settings cannot be loaded") and missing in result.error
    assert status == "unhealthy"
    assert backend.connections == 0
