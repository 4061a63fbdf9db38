"""Fetching a service's OpenAPI document from its own targets with httpx (control plane only).

The document path is a path on the service's targets, never a URL the admin typed, so the gateway
only ever asks its own backends. Targets are tried in order until one answers 200; the body is read
up to ``GATEWAY_PORTAL_MAX_DOCUMENT_BYTES``, and each step (connect, each read) waits at most
``GATEWAY_PORTAL_FETCH_TIMEOUT`` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from django.conf import settings


class FetchFailed(Exception):
    """No target served the document; the message says what each one did."""


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    content_type: str
    url: str


def fetch(scheme: str, addresses: Sequence[str], path: str, base_path: str = "") -> Fetched:
    """GET ``base_path + path`` from the first target that answers 200."""
    if not addresses:
        raise FetchFailed("The service has no enabled target to fetch the document from.")
    failures = []
    timeout = settings.GATEWAY_PORTAL_FETCH_TIMEOUT
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for address in addresses:
            url = f"{scheme}://{address}{base_path.rstrip('/')}{path}"
            try:
                return _get(client, url)
            except FetchFailed as exc:
                failures.append(f"{address}: {exc}")
    raise FetchFailed("; ".join(failures))


def _get(client: httpx.Client, url: str) -> Fetched:
    limit = settings.GATEWAY_PORTAL_MAX_DOCUMENT_BYTES
    headers = {"Accept": "application/json, application/yaml;q=0.9", "User-Agent": "gateway-portal"}
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise FetchFailed(f"answered {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchFailed(f"the document is larger than {limit} bytes")
                chunks.append(chunk)
            return Fetched(b"".join(chunks), response.headers.get("content-type", ""), url)
    except httpx.TimeoutException:
        raise FetchFailed("timed out") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}"[:200]) from None
