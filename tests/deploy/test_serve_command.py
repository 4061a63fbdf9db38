"""``python -m gateway_project.serve``: several workers need Redis for their shared state."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.servers import ROOT, free_port


def serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GATEWAY_ALLOW_PER_PROCESS_STATE")}
    command = [sys.executable, "-m", "gateway_project.serve", "--port", str(free_port()), *args]
    return subprocess.run(command, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60)


def test_two_workers_without_redis_refuse_to_start_and_say_what_would_break() -> None:
    done = serve("--workers", "2")
    assert done.returncode != 0
    assert "without REDIS_URL" in done.stderr
    for words in ("rate limits are counted per worker", "circuit breakers", "channel fan-out"):
        assert words in done.stderr
    assert "GATEWAY_ALLOW_PER_PROCESS_STATE=1" in done.stderr


def test_help_describes_every_option() -> None:
    done = serve("--help")
    assert done.returncode == 0
    for option, words in (("--host", "address to bind"), ("--workers", "needs REDIS_URL"), ("--log-level", "log")):
        assert option in done.stdout and words in done.stdout


def test_per_process_state_is_allowed_with_redis_with_one_worker_or_when_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway_project.serve import refuse_per_process_state

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("GATEWAY_ALLOW_PER_PROCESS_STATE", raising=False)
    assert refuse_per_process_state(1) is None
    assert refuse_per_process_state(4) is not None
    monkeypatch.setenv("GATEWAY_ALLOW_PER_PROCESS_STATE", "1")
    assert refuse_per_process_state(4) is None
    monkeypatch.delenv("GATEWAY_ALLOW_PER_PROCESS_STATE")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert refuse_per_process_state(4) is None
