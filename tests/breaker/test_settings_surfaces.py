"""Breaker and health check settings through every way of configuring: YAML, admin API, routing table."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from breaker.compile import NAME
from breaker.models import ServiceBreaker
from registry.models import Service, Target
from registry.snapshot import load_snapshot

pytestmark = pytest.mark.django_db

YAML = """
version: 1
services:
  - name: Checked
    slug: checked
    breaker_enabled: true
    breaker_failures: 3
    breaker_failure_statuses: "500-599"
    health_check_path: /healthz
    targets:
      - host: 10.0.0.1
        port: 80
        breaker_open_seconds: 2.5
      - host: 10.0.0.2
        port: 80
"""


def apply(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    call_command("gateway_apply", str(path), stdout=io.StringIO(), stderr=io.StringIO(), no_color=True)


def test_yaml_settings_reach_the_routing_table_with_target_overrides(tmp_path: Path) -> None:
    apply(tmp_path, YAML)
    snapshot = load_snapshot()
    (service,) = snapshot.services
    config = snapshot.extensions[NAME].services[service.id]
    first, second = (config.breakers[t.id] for t in service.targets)
    assert (first.failures, first.open_seconds) == (3, 2.5)
    assert (second.failures, second.open_seconds) == (3, 5.0)
    assert config.failure_statuses == frozenset(range(500, 600))
    assert first.probe_timeout == 5.0 + 60.0 + 1.0
    assert config.health_check is not None and config.health_check.path == "/healthz"


def test_a_service_without_them_compiles_to_nothing(tmp_path: Path) -> None:
    service = Service.objects.create(name="Plain", slug="plain")
    Target.objects.create(service=service, host="10.0.0.1", port=80)
    snapshot = load_snapshot()
    assert snapshot.extensions[NAME].services == {}


def test_a_service_whose_settings_are_the_defaults_stores_no_row() -> None:
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("ops", "ops@example.com", "x"))
    created = api.post("/admin/api/services/", {"name": "Plain", "slug": "plain"}, format="json")
    assert created.status_code == 201 and created.json()["breaker_enabled"] is False
    assert not ServiceBreaker.objects.exists()


def test_yaml_refuses_a_bad_status_range(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        apply(tmp_path, YAML.replace('"500-599"', '"500-700"'))
    assert not Service.objects.exists()


def test_the_admin_api_reads_and_writes_them() -> None:
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("ops", "ops@example.com", "x"))
    created = api.post(
        "/admin/api/services/",
        {"name": "Billing", "slug": "billing", "breaker_enabled": True, "health_check_path": "/up"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["breaker_failures"] == 5 and created.json()["health_check_statuses"] == "200-399"
    bad = api.patch("/admin/api/services/billing/", {"breaker_failure_statuses": "abc"}, format="json")
    assert bad.status_code == 400 and "breaker_failure_statuses" in bad.json()["errors"]
    target = api.post(
        "/admin/api/targets/",
        {"service": "billing", "host": "10.0.0.1", "port": 80, "breaker_failures": 2},
        format="json",
    )
    assert target.status_code == 201 and target.json()["breaker_failures"] == 2
