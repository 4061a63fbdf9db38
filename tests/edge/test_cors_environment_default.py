"""CORS_ORIGINS: the edge defaults' CORS for every route that inherits, while an admin has not turned
CORS on at that level; a route with CORS of its own keeps it; a malformed value names the variable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from edge import environment
from edge.compile import NAME, EdgeConfig
from edge.models import EdgeDefaults
from registry.snapshot import load_snapshot


@pytest.fixture
def origins() -> Iterator[None]:
    environment.read({"CORS_ORIGINS": "https://app.example, https://Admin.example:443/"})
    yield
    environment.read({})


def defaults_cors() -> object:
    config = load_snapshot().extensions[NAME]
    assert isinstance(config, EdgeConfig)
    return config.defaults.cors


@pytest.mark.django_db
def test_the_environments_origins_are_the_defaults_cors_until_an_admin_turns_it_on_there(origins: None) -> None:
    spec = defaults_cors()
    assert spec is not None and spec.enabled  # type: ignore[attr-defined]
    assert spec.origins == ("https://app.example", "https://admin.example")  # type: ignore[attr-defined]

    EdgeDefaults.objects.create(cors="on", cors_origins="https://mine.example")

    assert defaults_cors().origins == ("https://mine.example",)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_without_the_variable_the_defaults_have_no_cors() -> None:
    environment.read({})
    spec = defaults_cors()
    assert spec is not None and not spec.enabled  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw", ["not an origin", "null", "*, https://a.example"])
def test_malformed_origins_name_the_variable(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^CORS_ORIGINS must be origins"):
        environment.read({"CORS_ORIGINS": raw})
    environment.read({})


@pytest.mark.django_db
def test_the_edge_defaults_page_shows_the_environments_origins(origins: None) -> None:
    browser = Client()
    browser.force_login(User.objects.create_superuser("root"))

    page = browser.get("/admin/edge/edgedefaults/add/")

    assert page.status_code == 200 and b"CORS_ORIGINS=https://app.example,https://admin.example" in page.content
