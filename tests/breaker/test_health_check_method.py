"""The health check's method: GET by default, HEAD when the service asks for it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from breaker import services
from registry.models import Service, Target
from registry.sections import save_with_sections
from tests.breaker.flaky import Flaky

pytestmark = pytest.mark.django_db


def checked_target(flaky: Flaky, **fields: object) -> Target:
    values = {"name": "Checked", "slug": "checked", "health_check_path": "/healthz", **fields}
    service = save_with_sections(Service(), values)
    Target.objects.create(service=service, host="127.0.0.1", port=flaky.port)
    return Target.objects.select_related("service").get(service=service)


def test_the_sweep_probes_with_get_unless_the_service_says_head(flaky: Flaky) -> None:
    (result,) = services.probe_now([checked_target(flaky)])
    assert result.ok and flaky.probe_methods == ["GET"]
    Service.objects.all().delete()
    (result,) = services.probe_now([checked_target(flaky, health_check_method="HEAD")])
    assert result.ok and flaky.probe_methods == ["GET", "HEAD"]


def test_other_methods_are_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        save_with_sections(Service(), {"name": "Odd", "slug": "odd", "health_check_method": "POST"})
    assert "health_check_method" in refused.value.message_dict
