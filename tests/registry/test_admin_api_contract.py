"""The admin API keeps its own contract: schemathesis, with every check, against /admin/api/schema/
and a staff token, on a real gateway process and a database it may fill (the test database, flushed
afterwards). It must find nothing: no server error, no status or content type the schema leaves out,
no valid request refused or invalid one accepted, no object still served after its DELETE."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from tests.support.contract import run_schemathesis
from tests.support.servers import GatewayProcess

pytestmark = pytest.mark.slow
PASSWORD = "pw-contract-123456"


@pytest.fixture
def contract_gateway(transactional_db: None) -> Iterator[GatewayProcess]:
    # Its own process: tokens that outlive the run, and no sign-in limit shared with other tests.
    process = GatewayProcess(env={"GATEWAY_ADMIN_TOKEN_MINUTES": "60", "GATEWAY_LOGIN_RATE_LIMIT": "0"}).start()
    yield process
    process.stop()


def staff_token(gateway: GatewayProcess) -> str:
    User.objects.create_superuser("contract", "contract@example.com", PASSWORD)
    request = urllib.request.Request(
        f"{gateway.url}/admin/api/token/",
        data=json.dumps({"username": "contract", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access"])


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_failure_in_the_admin_api(contract_gateway: GatewayProcess, tmp_path: Path) -> None:
    token = staff_token(contract_gateway)

    run = run_schemathesis(
        f"{contract_gateway.url}/admin/api/schema/?format=json", tmp_path, {"Authorization": f"Bearer {token}"}
    )

    print(f"schemathesis took {run.seconds:.0f} s")
    assert run.returncode == 0, run.summary
    assert "No issues found" in run.output or " passed" in run.output, run.summary
