"""The upstream TLS settings are checked at boot: files that do not load are an error then."""

from __future__ import annotations

from pathlib import Path

from django.test import override_settings

from proxy.checks import check_upstream_tls
from tests.proxy.raw_backend import CertificateAuthority


def test_no_upstream_tls_files_is_fine() -> None:
    assert check_upstream_tls() == []


def test_a_ca_bundle_and_client_certificate_that_load_pass(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    cert, key = ca.issue("gateway", server=False)
    with override_settings(
        GATEWAY_UPSTREAM_CA_BUNDLE=str(ca.ca_file),
        GATEWAY_UPSTREAM_CLIENT_CERT=str(cert),
        GATEWAY_UPSTREAM_CLIENT_KEY=str(key),
    ):
        assert check_upstream_tls() == []


def test_a_missing_ca_bundle_is_an_error_at_boot(tmp_path: Path) -> None:
    with override_settings(GATEWAY_UPSTREAM_CA_BUNDLE=str(tmp_path / "nowhere.pem")):
        [error] = check_upstream_tls()
    assert error.id == "gateway.E006"


def test_a_client_key_without_a_certificate_is_an_error(tmp_path: Path) -> None:
    with override_settings(GATEWAY_UPSTREAM_CLIENT_KEY=str(tmp_path / "k.pem")):
        [error] = check_upstream_tls()
    assert "GATEWAY_UPSTREAM_CLIENT_CERT" in error.msg
