"""Static files (the admin's, the API docs') are served by WhiteNoise on Django's side of the gateway:
straight from the apps before `collectstatic`, and after it compressed, with hashed names and a
year-long cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ROOT, GatewayProcess

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(gateway: GatewayProcess, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(gateway.url + path, headers={"Host": "localhost", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


@pytest.fixture
def collected(tmp_path: Path) -> Iterator[GatewayProcess]:
    env = {**os.environ, "GATEWAY_STATIC_ROOT": str(tmp_path), "DJANGO_SETTINGS_MODULE": "gateway_project.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    gateway = GatewayProcess({"GATEWAY_STATIC_ROOT": str(tmp_path)}).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def uncollected(tmp_path: Path) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess({"GATEWAY_STATIC_ROOT": str(tmp_path / "nothing-collected")}).start()
    yield gateway
    gateway.stop()


def test_before_collectstatic_the_apps_files_are_served_under_their_plain_names(uncollected: GatewayProcess) -> None:
    _, _, page = fetch(uncollected, "/admin/login/")
    assert b'href="/static/admin/css/base.css"' in page
    status, headers, body = fetch(uncollected, "/static/admin/css/base.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and len(body) > 1000


def test_after_collectstatic_names_are_hashed_compressed_and_cached_for_a_year(collected: GatewayProcess) -> None:
    _, _, page = fetch(collected, "/admin/login/")
    found = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert found is not None, page[:2000]
    status, headers, plain = fetch(collected, found.group(1).decode())
    assert status == 200 and "immutable" in headers["cache-control"] and "max-age=315360000" in headers["cache-control"]
    status, headers, packed = fetch(collected, found.group(1).decode(), **{"Accept-Encoding": "gzip"})
    assert headers.get("content-encoding") == "gzip" and len(packed) < len(plain)
