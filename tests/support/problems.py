"""Reading the admin API's errors: RFC 9457 problem+json, validation messages in ``errors``."""

from __future__ import annotations

from typing import Any


def errors(response: Any) -> Any:
    """The validation messages of a DRF test client's error response, after checking its form."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body = response.json()
    assert body["status"] == response.status_code and response["X-Gateway-Error"] == body["type"].rsplit(":", 1)[-1]
    return body["errors"]
