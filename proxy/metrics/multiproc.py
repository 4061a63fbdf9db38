"""prometheus-client multiprocess mode: one directory of mmap files shared by a gateway's workers.

``PROMETHEUS_MULTIPROC_DIR`` must be set before ``prometheus_client`` is first imported in a worker,
so the process that starts the workers (``gateway_project.serve``, the launcher, the tests'
``GatewayProcess``) calls ``prepare_directory`` before they fork: it empties the directory (a counter
file of a previous run would otherwise be summed into this one) and exports the variable, which
every worker inherits. Without the variable (one process, or the test client) the default
in-process registry serves.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r"_(\d+)\.db$")


def prepare_directory(path: str | Path) -> str:
    """Create ``path`` or remove the metrics files a previous run left in it (only those: the
    directory may be one an operator named), and export it as the multiprocess directory."""
    directory = Path(path)
    directory.mkdir(parents=True, mode=0o700, exist_ok=True)
    for pattern in ("*.db", "perf_*.json", "perf_*.tmp"):
        for stale in directory.glob(pattern):
            stale.unlink()
    os.environ[ENV] = str(directory)
    return str(directory)


def directory() -> str | None:
    return os.environ.get(ENV) or None


def enabled() -> bool:
    return directory() is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes() -> list[int]:
    """Drop the live-gauge files of workers that died (crashed or restarted); return their pids.

    Counters and histograms of a dead worker stay: their totals must not go backwards.
    """
    path = directory()
    if path is None:
        return []
    from prometheus_client import multiprocess

    dead = set()
    for name in glob.glob(os.path.join(path, "*.db")) + glob.glob(os.path.join(path, "perf_*.json")):
        match = _PID_FILE.search(name) or re.search(r"_(\d+)\.json$", name)
        if match and not _alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)
        for stale in glob.glob(os.path.join(path, f"perf_{pid}.json")):
            os.remove(stale)
    return sorted(dead)
