"""The portal's public endpoints keep their own contract: schemathesis, with every check, against the
portal's schema (/api/v1/docs/schema/), with a published service so the documents are not empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.portal.backends import DocumentBackend
from tests.portal.setup import refresh_and_sync, shop
from tests.support.config import ConfigHelper
from tests.support.contract import run_schemathesis
from tests.support.servers import GatewayProcess

pytestmark = pytest.mark.slow


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_failure_in_the_portal(
    config: ConfigHelper, gateway: GatewayProcess, pets_backend: DocumentBackend, tmp_path: Path
) -> None:
    shop(config, pets_backend)
    refresh_and_sync(config)

    run = run_schemathesis(f"{gateway.url}/api/v1/docs/schema/?format=json", tmp_path, seconds="45")

    print(f"schemathesis took {run.seconds:.0f} s")
    assert run.returncode == 0, run.summary
