"""A Redis Cluster of the test's own: three masters (redis-server in cluster mode) on free loopback
ports, joined by ``redis-cli --cluster create``; ``stop`` kills them and removes their files.

``migrate_slot`` moves one slot to another master the way ``redis-cli --cluster reshard`` does
(IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), stopping halfway if asked, so clients meet ASK and then
MOVED redirections.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from typing import Any

from tests.support.servers import free_port

MASTERS = 3


class RedisCluster:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="gateway-redis-cluster-")
        self.ports = [free_port() for _ in range(MASTERS)]
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self) -> RedisCluster:
        for port in self.ports:
            argv = [
                "redis-server",
                "--port", str(port),
                "--cluster-port", str(free_port()),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", "2000",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
            ]  # fmt: skip
            self.procs.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            )
        for port in self.ports:
            self._wait(lambda p=port: self.cli(p, "PING") == "PONG", f"redis-server on {port}")
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            self._wait(lambda p=port: "cluster_state:ok" in self.cli(p, "CLUSTER", "INFO"), "the cluster")
        return self

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, port: int, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip()

    def client(self, port: int) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=port)

    def owner(self, slot: int) -> int:
        """The port of the master serving ``slot``."""
        with self.client(self.ports[0]) as client:
            for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    return int(master[1])
        raise LookupError(slot)

    def node_id(self, port: int) -> str:
        return self.cli(port, "CLUSTER", "MYID")

    def migrate_slot(self, slot: int, to_port: int, *, finish: bool = True) -> None:
        """Move ``slot`` (and its keys) to ``to_port``; with ``finish=False`` it stays migrating (ASK)."""
        source = self.owner(slot)
        source_id, target_id = self.node_id(source), self.node_id(to_port)
        with self.client(to_port) as target, self.client(source) as origin:
            target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            origin.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            while keys := origin.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                origin.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
            if not finish:
                return
        self.finish_migration(slot, to_port, source)

    def finish_migration(self, slot: int, to_port: int, source: int) -> None:
        target_id = self.node_id(to_port)
        for port in (to_port, source, *[p for p in self.ports if p not in (to_port, source)]):
            with self.client(port) as node:
                node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)

    def _wait(self, ready: Any, what: str) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not come up")
