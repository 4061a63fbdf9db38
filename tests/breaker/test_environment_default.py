"""CIRCUIT_BREAKER_FAILURE_THRESHOLD: every service without breaker settings of its own gets a breaker
with that threshold; a service with its own keeps them; a malformed value names the variable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured

from breaker import environment
from breaker.compile import NAME, Breakers
from registry.models import Service, Target
from registry.sections import save_with_sections
from registry.snapshot import load_snapshot


@pytest.fixture
def threshold() -> Iterator[None]:
    environment.read({"CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3"})
    yield
    environment.read({})


def breakers() -> Breakers:
    found = load_snapshot().extensions[NAME]
    assert isinstance(found, Breakers)
    return found


@pytest.mark.django_db
def test_services_without_settings_get_the_environments_breaker_and_others_keep_theirs(threshold: None) -> None:
    plain = Service.objects.create(name="Plain", slug="plain")
    target = Target.objects.create(service=plain, host="127.0.0.1", port=9001)
    own = save_with_sections(Service(), {"name": "Own", "slug": "own", "breaker_failures": 9}, clean=False)
    Target.objects.create(service=own, host="127.0.0.1", port=9002)

    compiled = breakers().services

    assert compiled[plain.pk].breakers[target.pk].failures == 3
    assert compiled[own.pk].breakers == {}  # its own settings: the breaker is off there


@pytest.mark.django_db
def test_without_the_variable_a_service_without_settings_has_no_breaker() -> None:
    environment.read({})
    service = Service.objects.create(name="Plain", slug="plain")
    Target.objects.create(service=service, host="127.0.0.1", port=9001)

    assert service.pk not in breakers().services


@pytest.mark.parametrize("raw", ["five", "0", "-1", "1001"])
def test_a_malformed_threshold_names_the_variable(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^GATEWAY_CIRCUIT_BREAKER_FAILURE_THRESHOLD must be"):
        environment.read({"GATEWAY_CIRCUIT_BREAKER_FAILURE_THRESHOLD": raw})
    environment.read({})


def test_the_service_page_says_where_the_breaker_comes_from(threshold: None) -> None:
    assert "CIRCUIT_BREAKER_FAILURE_THRESHOLD=3" in environment.note()
