"""Fixtures of the compliance officer's tests: the admin roles as the migrations make them, and
signed-in clients for a compliance officer and a viewer."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.test import Client

from tests.compliance.officer_support import staff


@pytest.fixture
def roles() -> None:
    """The groups as the migrations make them (transactional tests elsewhere flush migrated rows)."""
    importlib.import_module("registry.migrations.0005_admin_roles").create_roles(django_apps, None)
    importlib.import_module("compliance.migrations.0004_compliance_officer_roles").grant(django_apps, None)
    importlib.import_module("compliance.migrations.0008_access_events").grant(django_apps, None)


@pytest.fixture
def officer(roles: None) -> User:
    return staff("olivia", "compliance officer")


@pytest.fixture
def officer_client(officer: User) -> Client:
    client = Client()
    client.force_login(officer)
    return client


@pytest.fixture
def viewer_client(roles: None) -> Client:
    client = Client()
    client.force_login(staff("victor", "viewer"))
    return client
