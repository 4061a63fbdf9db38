"""Route prefixes are validated and compared as requests are matched (``proxy.paths``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from registry.models import Route, Service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prefix", ["/orders;v=1", "/orders/%00", "/a%2Fb", "/a%5cb", "/a/%zz", "/a/%2e%2e"])
def test_a_prefix_no_request_could_match_as_written_is_refused(prefix: str) -> None:
    service = Service.objects.create(name="Orders", slug="orders")

    with pytest.raises(ValidationError) as refused:
        Route(service=service, name="orders", path_prefix=prefix).full_clean()
    assert "path_prefix" in refused.value.message_dict


def test_prefixes_that_differ_only_in_case_or_escapes_clash_at_equal_priority() -> None:
    service = Service.objects.create(name="Orders", slug="orders")
    Route.objects.create(service=service, name="lower", path_prefix="/orders/~me")

    for prefix in ("/Orders/~me", "/ORDERS/%7Eme"):
        with pytest.raises(ValidationError, match="already matches"):
            Route(service=service, name="upper", path_prefix=prefix).full_clean()
    Route(service=service, name="upper", path_prefix="/Orders/~me", priority=1).full_clean()
