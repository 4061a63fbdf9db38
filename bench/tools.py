"""Make sure wrk, nginx and the comparison row's Python packages are there, installing them if we can."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _apt_install(packages: list[str]) -> str | None:
    """Install Debian packages as root; None on success, else why not."""
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("apt-get") is None:
        return "apt-get not found"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    print(f"bench: installing {' '.join(packages)} with apt-get", flush=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return f"apt-get install failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    return None


def ensure_system_tools() -> tuple[str, str | None, list[str]]:
    """(wrk path, nginx path or None, notes). Exits with a message when wrk cannot be had."""
    notes: list[str] = []
    no_nginx = bool(os.environ.get("BENCH_NO_NGINX"))
    missing = [name for name in ("wrk",) + (() if no_nginx else ("nginx",)) if which(name) is None]
    if missing:
        why = _apt_install(missing)
        if why:
            notes.append(f"could not install {', '.join(missing)}: {why}")
    wrk, nginx = which("wrk"), None if no_nginx else which("nginx")
    if wrk is None:
        raise SystemExit(
            "bench: wrk is required and could not be installed "
            f"({'; '.join(notes) or 'unknown reason'}); install it with `apt-get install wrk` and rerun."
        )
    if no_nginx:
        notes.append("BENCH_NO_NGINX is set: no nginx row; the upstream is bench/upstream.py")
    elif nginx is None:
        notes.append("nginx is not installed: no nginx row; the upstream is bench/upstream.py")
    return wrk, nginx, notes


def which(name: str) -> str | None:
    # nginx lives in /usr/sbin, which a non-root PATH may lack.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def ensure_bench_requirements() -> str | None:
    """Install requirements/bench.txt into this venv if fastapi or httpx is missing; None when importable."""
    try:
        for module in ("fastapi", "httpx", "sniffio"):
            importlib.import_module(module)
        return None
    except ImportError:
        pass
    print("bench: installing requirements/bench.txt (fastapi, httpx, sniffio) with pip", flush=True)
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r"]
    done = subprocess.run([*cmd, str(ROOT / "requirements" / "bench.txt")], capture_output=True, text=True)
    if done.returncode != 0:
        return f"pip install -r requirements/bench.txt failed: {(done.stderr or done.stdout).strip()[-200:]}"
    importlib.invalidate_caches()
    return None
