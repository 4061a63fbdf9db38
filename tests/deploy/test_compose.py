"""docker/compose.yaml: valid against the Compose specification's schema (check-jsonschema's builtin
copy, offline), the services the issue lists, and every command line of the image's services run
for real outside a container (no container engine runs here), against the test's Postgres and Redis:
the migration exits 0, the others stay up (beat also when started again after being killed) and the
gateway answers its own healthcheck."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.servers import database_url_for_gateways, free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
OURS = ("migrate", "gateway", "audit-worker", "celery-worker", "celery-beat")
BIN = Path(sys.executable).parent


def services() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("check-jsonschema", path=str(BIN)) or "check-jsonschema"
    argv = [tool, "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_the_compose_file_validates_against_the_compose_specification(tmp_path: Path) -> None:
    done = check_jsonschema(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("depends_on: *after-migrate", "depends_on: 7", 1))
    assert check_jsonschema(broken).returncode != 0  # the check can fail


def test_the_stack_has_every_service_and_the_others_wait_for_a_successful_migration() -> None:
    found = services()
    assert set(OURS) | {"postgres", "redis", "redis-audit"} <= set(found)
    assert "--appendonly" in found["redis-audit"]["command"]  # the audit stream survives a restart
    assert found["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert "migrate" not in found["migrate"]["depends_on"]
    for name in OURS[1:]:
        assert found[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert found[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}, name


def test_there_is_exactly_one_beat_and_it_keeps_no_pidfile() -> None:
    beats = [name for name, spec in services().items() if "beat" in spec.get("command", [])]
    assert beats == ["celery-beat"]
    beat = services()["celery-beat"]
    assert "--pidfile=" in beat["command"] and "replicas" not in beat.get("deploy", {})


def environment(spec: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """The service's environment with compose's ${VAR:-default} filled in, pointed at the test's stores."""
    ours = {"DJANGO_SECRET_KEY": "compose-test-secret-key-" + "x" * 40}

    def fill(value: Any) -> str:
        return re.sub(r"\$\{(\w+)(?::[-?]([^}]*))?\}", lambda m: ours.get(m[1], m[2] or ""), str(value))

    env = {**os.environ, **{k: fill(v) for k, v in spec["environment"].items()}}
    redis = os.environ["REDIS_URL"]
    env.update(
        DATABASE_URL=database_url_for_gateways(),
        REDIS_URL=redis,
        GATEWAY_AUDIT_REDIS_URL=redis,
        GATEWAY_AUDIT_SPOOL_DIR=str(tmp_path / "audit-spool"),
        GATEWAY_VAR_DIR=str(tmp_path / "var"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def argv(command: list[str], port: int) -> list[str]:
    """The command as the image runs it: its python is ours; loopback and a free port instead of 8000."""
    out = [sys.executable if part == "python" else part for part in command]
    out = ["127.0.0.1" if part == "0.0.0.0" else part for part in out]
    return [str(port) if part == "8000" else part.replace(":8000/", f":{port}/") for part in out]


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
@pytest.mark.slow
def test_every_command_line_of_the_image_starts_outside_a_container(transactional_db: None, tmp_path: Path) -> None:
    found = services()
    port = free_port()
    migrate = found["migrate"]
    done = subprocess.run(
        argv(migrate["command"], port),
        cwd=ROOT,
        env=environment(migrate, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    running: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"{name}.log" for name in OURS[1:]}

    def start(name: str) -> None:
        with logs[name].open("ab") as log:
            running[name] = subprocess.Popen(
                argv(found[name]["command"], port),
                cwd=ROOT,
                env=environment(found[name], tmp_path),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    try:
        for name in OURS[1:]:
            start(name)
        time.sleep(2)
        os.killpg(running["celery-beat"].pid, signal.SIGKILL)  # a container killed: its restart must work
        running["celery-beat"].wait(10)
        start("celery-beat")
        health = argv(found["gateway"]["healthcheck"]["test"][1:], port)
        deadline = time.monotonic() + 30
        while subprocess.run(health, capture_output=True, timeout=10).returncode != 0:
            assert time.monotonic() < deadline, logs["gateway"].read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(3)  # the workers and beat have had time to connect and fail, if they were to
        for name, proc in running.items():
            assert proc.poll() is None, f"{name} exited {proc.returncode}: {logs[name].read_text()[-3000:]}"
    finally:
        for proc in running.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in running.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
