"""Real servers for end-to-end tests, all bound to 127.0.0.1 on free ports.

``BackendThread`` runs the demo backend (gateway_project/demo_backend.py) in a thread with its own
event loop. ``GatewayProcess`` runs the gateway itself under uvicorn in a subprocess, against the
test database, exactly as ``python -m gateway_project.serve`` would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web
from django.db import connection

from gateway_project.demo_backend import make_app
from gateway_project.serve import uvicorn_argv

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _cancel_other_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class BackendThread:
    def __init__(self, name: str = "backend", app: web.Application | None = None, port: int | None = None) -> None:
        self.name = name
        self.app = app or make_app(name)
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"backend-{name}")
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> BackendThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("backend did not start")
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        # Handlers still running (a slow answer nobody waits for) end here, not in a warning at exit.
        asyncio.run_coroutine_threadsafe(_cancel_other_tasks(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def count(self) -> int:
        with urllib.request.urlopen(f"{self.url}/count", timeout=5) as resp:
            return int(json.loads(resp.read())["requests"])


def database_url_for_gateways() -> str:
    """The URL of the database pytest-django created, for gateway subprocesses."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class GatewayProcess:
    def __init__(
        self, env: dict[str, str] | None = None, workers: int = 1, host: str = "127.0.0.1", admin_port: int = 0
    ) -> None:
        self.host = host  # "::1" for a gateway its clients reach over IPv6
        self.port = free_port()
        self.workers = workers
        # With an admin listener the gateway is started as production does: gateway_project.serve.
        self.admin_port = admin_port
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_gateways(),
            "GATEWAY_CONFIG_POLL_INTERVAL": "0.2",
            "GATEWAY_HEALTH_POLL_INTERVAL": "0.2",
            "GATEWAY_API_KEY_USAGE_FLUSH_SECONDS": "0.2",
            "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in self.env:
            # What gateway_project.serve does for several workers: one fresh metrics directory.
            metrics_dir = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var"))) / f"metrics-{self.port}"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            self.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        # Its own audit spool directory, unless the test shares one (a restarted process replays it).
        self.spool_dir: Path | None = None
        if "GATEWAY_AUDIT_SPOOL_DIR" not in self.env:
            self.spool_dir = Path(tempfile.mkdtemp(prefix="gateway-spool-"))
            self.env["GATEWAY_AUDIT_SPOOL_DIR"] = str(self.spool_dir)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("GATEWAY_VAR_DIR", str(ROOT / "var"))) / f"gateway-{self.port}.log"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def argv(self) -> list[str]:
        if self.admin_port:  # started as production does, with its admin listener
            argv = [sys.executable, "-m", "gateway_project.serve", "--host", self.host, "--port", str(self.port)]
            argv += ["--admin-port", str(self.admin_port), "--workers", str(self.workers)]
            return [*argv, "--log-level", "warning"]
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "gateway_project.asgi:application",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
            *uvicorn_argv(),
        ]

    def start(self) -> GatewayProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self.wait_ready()
        except BaseException:
            # A gateway that never became ready must not outlive the test (it would hold the test
            # database open, and the next run could neither drop nor recreate it).
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = self.get_json("/health/startup")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway not ready after {timeout} s:\n{self.log()}")

    @property
    def control_url(self) -> str:
        """Where Django's paths (health, admin) are served: the admin listener, when there is one."""
        return f"http://127.0.0.1:{self.admin_port}" if self.admin_port else self.url

    def get_json(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.control_url + path, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def served_versions(self) -> set[int]:
        """The config versions served by every process of this gateway (several with --workers)."""
        _, body = self.get_json("/health/detailed")
        if "processes" in body:
            mine = {p["served_version"] for p in body["processes"] if p["process"].split(":")[-1] in self.pids()}
            if mine:
                return mine
        return {body["checks"]["config"].get("served_version")}

    def pids(self) -> set[str]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        return {str(self.proc.pid), *out}

    def wait_for_version(self, version: int, timeout: float = 10) -> float:
        """Wait until this gateway serves ``version``; return how long that took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            _, body = self.get_json("/health/detailed")
            if body["checks"]["config"].get("served_version") == version:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"gateway still not serving config version {version} after {timeout} s")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.spool_dir is not None:
            shutil.rmtree(self.spool_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing of the process runs after it (its spool stays)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
