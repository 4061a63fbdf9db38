"""Issue 13, section 2: a live API key sent to the gateway (in a refused request's query, a path, a
header) is nowhere in a dump of the database afterwards. The dump is the real one: ``pg_dump`` of
the test database on Postgres, SQLite's ``.dump`` in the embedded default."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from tests.compliance.audit_support import AuditedGateway, wait_for_records
from tests.support.config import ConfigHelper
from tests.support.http import call
from tests.support.servers import BackendThread


@pytest.fixture(scope="module")
def audited(django_db_setup: None, django_db_blocker: object) -> Iterator[AuditedGateway]:
    process = AuditedGateway().start()
    yield process
    process.stop()


@pytest.fixture
def config(transactional_db: None, audited: AuditedGateway) -> ConfigHelper:
    return ConfigHelper(gateways=[audited])


def dump_database() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
        host, port = settings.get("HOST") or "127.0.0.1", str(settings.get("PORT") or 5432)
        argv = [
            "pg_dump",
            "--no-owner",
            "-h",
            host,
            "-p",
            port,
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ]
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    if shutil.which("sqlite3"):
        return subprocess.run(["sqlite3", settings["NAME"], ".dump"], capture_output=True, text=True, check=True).stdout
    with sqlite3.connect(settings["NAME"]) as db:
        return "\n".join(db.iterdump())


def test_an_api_key_sent_anywhere_in_a_request_is_not_in_a_database_dump(
    config: ConfigHelper, audited: AuditedGateway, backend: BackendThread
) -> None:
    service = config.service("shop", targets=[backend])
    config.route(service, "/keyed", auth_mode="api_key")
    config.route(service, "/query-keyed", auth_mode="api_key", api_key_query_param="key")
    _, key = config.api_key(config.consumer("alice"))
    config.sync()
    marker = f"visible-{uuid.uuid4().hex}"
    encoded = key.replace("_", "%5F")
    cases = [
        (f"/keyed/1?api_key={key}&marker={marker}", 401),  # refused: credentials_in_query
        (f"/keyed/1?token={key}", 401),
        (f"/keyed/1?access_token={key}&page=2", 401),
        (f"/keyed/1?q=owner%3D{encoded}", 401),
        (f"/keyed/1?{key}", 401),
        (f"/keyed/{key}/orders", 401),
        (f"/keyed/{encoded}", 401),
        (f"/nowhere/{key}?sig={key}", 404),
        (f"/query-keyed/1?key={key}", 200),  # accepted from the query, still never stored
    ]
    sent = {}
    for path, status in cases:
        rid = f"dump-{uuid.uuid4().hex}"
        reply = call(audited, "GET", path, {"X-Request-ID": rid, "X-Trace": key})
        assert reply.status == status, (path, reply)
        sent[rid] = path
    assert call(audited, "GET", "/keyed/1", {"Authorization": f"Bearer {key}"}).status == 200

    events = wait_for_records(audited, sent)
    assert {e.request_id for e in events} == set(sent)

    dump = dump_database()

    assert marker in dump and all(rid in dump for rid in sent)  # the records are in this dump
    assert key not in dump
    assert key[12:] not in dump  # nor the secret part on its own
    assert encoded not in dump and key[12:].lower() not in dump.lower()
