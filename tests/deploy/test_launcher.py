"""``make run``'s launcher: SIGTERM stops everything it started, as Ctrl-C does; a taken port is
refused before anything starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import ROOT, free_port

pytestmark = pytest.mark.slow


def embedded_env(var_dir: Path) -> dict[str, str]:
    """The embedded default (no Postgres, no Redis) in a var directory of the test's own."""
    shared = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")
    return {**{k: v for k, v in os.environ.items() if k not in shared}, "GATEWAY_VAR_DIR": str(var_dir)}


def children_of(pid: int) -> set[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line) for line in found.split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def test_sigterm_stops_every_child_the_launcher_started(tmp_path: Path) -> None:
    port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gateway_project.launcher", "--port", str(port)],
        cwd=ROOT, env=embedded_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert launcher.poll() is None and time.monotonic() < deadline, "the launcher never served"
            time.sleep(0.5)
        children = children_of(launcher.pid)
        assert len(children) >= 2  # the Celery worker with beat, and the demo backend unless one runs already

        launcher.send_signal(signal.SIGTERM)
        launcher.wait(30)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in children if alive(pid)]
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in children_of(launcher.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "gateway_project.launcher", "--port", str(port)],
            cwd=ROOT, env=embedded_env(tmp_path), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode != 0 and f"port {port} is taken" in done.stderr
    assert not (tmp_path / "gateway.sqlite3").exists()  # nothing was migrated, nothing started
