"""``make run``: the whole product on the embedded default, in one command.

Migrates the SQLite database in var/, loads the demo configuration on first start, creates an
admin login for this install (a random password, kept in var/admin-login.txt, mode 0600), starts
the demo backend on 127.0.0.1:8001, a Celery worker with beat for the health sweeps (broker: a
directory queue in var/, no server needed), the audit worker (which writes the gateway's audit
spool into the chain), and serves the gateway on 127.0.0.1:8000.
"""

from __future__ import annotations

import argparse
import atexit
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

DEMO_BACKEND_PORT = 8001


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host if host not in ("0.0.0.0", "::") else "127.0.0.1", port)) != 0


def _stop_at_exit(child: subprocess.Popen[bytes]) -> None:
    def stop() -> None:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()

    atexit.register(stop)


def _exit_on_sigterm(sig: int, frame: Any) -> None:
    # SIGTERM (kill, systemd) ends the launcher like Ctrl-C does, through atexit: every child it
    # started is stopped with it. uvicorn hands the signal back here once it has shut down.
    raise SystemExit(128 + sig)


def _admin_login(var_dir: Path) -> tuple[str, str | None]:
    from django.contrib.auth import get_user_model

    path = var_dir / "admin-login.txt"
    user_model = get_user_model()
    if not user_model.objects.filter(is_superuser=True).exists():
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "admin@localhost", password)
        path.write_text(f"admin\n{password}\n")
        path.chmod(0o600)
        return "admin", password
    if path.exists():
        username, password = path.read_text().split("\n")[:2]
        return username, password
    return "admin", None


def sweeper_argv() -> list[str]:
    """One Celery worker that also runs beat: enough for the embedded default's health sweeps."""
    return [
        sys.executable, "-m", "celery", "-A", "gateway_project.celery", "worker",
        "--beat", "--pool", "solo", "--concurrency", "1", "--loglevel", "warning",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


def start_sweeper() -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(sweeper_argv())
    _stop_at_exit(worker)
    return worker


def start_audit_worker() -> subprocess.Popen[bytes]:
    """The audit chain's writer: gateway processes only write their spools; without Redis this worker
    ships them into the chain, with Redis it consumes the stream they ship to (docs/compliance.md,
    "Durability")."""
    from django.conf import settings

    worker = subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "audit_worker"])
    _stop_at_exit(worker)
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if not _port_free(args.port, args.host):
        raise SystemExit(
            f"port {args.port} is taken (another `make run`?): stop it, or start on another port: make run PORT=8010"
        )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    from gateway_project import bootstrap, serve

    bootstrap.prepare()
    serve.prepare_metrics(workers=1)  # before django.setup() imports prometheus_client
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from registry.models import Service

    call_command("migrate", interactive=False, verbosity=0)
    if not Service.objects.exists():
        call_command("gateway_apply", str(settings.BASE_DIR / "docs" / "demo.yaml"))
    username, password = _admin_login(settings.VAR_DIR)

    if _port_free(DEMO_BACKEND_PORT):
        backend = subprocess.Popen(
            [sys.executable, "-m", "gateway_project.demo_backend", "--port", str(DEMO_BACKEND_PORT)],
            stdout=subprocess.DEVNULL,
        )
        _stop_at_exit(backend)
    else:
        print(f"port {DEMO_BACKEND_PORT} is taken; assuming the demo backend already runs there")
    start_sweeper()
    start_audit_worker()

    base = f"http://{args.host}:{args.port}"
    # GATEWAY_ADMIN_PORT set: the admin has a listener of its own (serve reads the variable too).
    admin_host = os.environ.get("GATEWAY_ADMIN_HOST", "127.0.0.1")
    admin = f"http://{admin_host}:{settings.GATEWAY_ADMIN_PORT}" if settings.GATEWAY_ADMIN_PORT else base
    login = f"{username} / {password}" if password else f"{username} (reset: python manage.py changepassword admin)"
    print(
        "\n"
        f"  Gateway      {base}\n"
        f"  Admin        {admin}/admin/   login: {login}\n"
        f"  Admin API    {admin}/admin/api/docs/\n"
        f"  Try          curl -i {base}/demo/hello\n"
        f"               curl -i {base}/api/v1/services\n"
        f"  Health       {base}/health/detailed   {base}/health/services\n",
        flush=True,
    )
    sys.argv = [sys.argv[0], "--host", args.host, "--port", str(args.port)]
    serve.main()


if __name__ == "__main__":
    main()
