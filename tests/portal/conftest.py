from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.portal.backends import DocumentBackend, pets_document


@pytest.fixture
def pets_backend() -> Iterator[DocumentBackend]:
    backend = DocumentBackend(pets_document("3.1.0")).start()
    yield backend
    backend.stop()


@pytest.fixture
def legacy_backend() -> Iterator[DocumentBackend]:
    """A backend whose document is OpenAPI 3.0."""
    backend = DocumentBackend(pets_document("3.0.3", title="Legacy pets"), name="legacy").start()
    yield backend
    backend.stop()
