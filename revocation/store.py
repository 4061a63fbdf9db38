"""Where revocations live at run time, and how every process hears of them.

With ``REDIS_URL`` (shared by every process)::

    gateway:revoked:jti:<jti>                    "<expires epoch>"             expires with the token
    gateway:revoked:sub:<json [issuer, subject]> "<issued before> <expires>"   expires with the entry
    gateway:revoked:version                      incremented on every change
    channel gateway:revocations                  {"version", "add": [...], "remove": [...]} per change

Each process mirrors these in ``proxy.auth.revocation.denylist`` (``revocation.mirror``). Without
Redis (the embedded default, one process) the denylist itself is the store, filled from the
database at start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from proxy.auth.revocation import Denylist, SubjectEntry

# One hash tag for every key: on a Redis Cluster they share a slot, so a change and its version move
# together (one MULTI) and a reload reads them from one node.
PREFIX = "gateway:{revoked}:"
JTI = PREFIX + "jti:"
SUBJECT = PREFIX + "sub:"
VERSION = PREFIX + "version"
CHANNEL = "gateway:revocations"


class RevocationUnavailable(Exception):
    """The revocation could not be handed to the shared store (Redis)."""


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # jti or subject
    value: str
    issuer: str
    issued_before: float  # subject entries only (0 for a jti)
    expires_at: float

    @property
    def key(self) -> str:
        if self.kind == "jti":
            return JTI + self.value
        return SUBJECT + json.dumps([self.issuer, self.value], separators=(",", ":"))

    def stored(self) -> str:
        return f"{self.expires_at}" if self.kind == "jti" else f"{self.issued_before} {self.expires_at}"

    def as_list(self) -> list[Any]:
        return [self.kind, self.value, self.issuer, self.issued_before, self.expires_at]

    def apply(self, denylist: Denylist) -> None:
        if self.kind == "jti":
            denylist.add_jti(self.value, self.expires_at)
        else:
            denylist.add_subject(self.issuer, self.value, SubjectEntry(self.issued_before, self.expires_at))

    def forget(self, denylist: Denylist) -> None:
        if self.kind == "jti":
            denylist.remove(jtis=[self.value])
        else:
            denylist.remove(subjects=[(self.issuer, self.value)])


def entry_from_list(item: list[Any]) -> Entry:
    kind, value, issuer, before, expires = item
    return Entry(str(kind), str(value), str(issuer), float(before), float(expires))


def entry_from_key(key: str, stored: str) -> Entry | None:
    """The entry a Redis key and value hold, or None for one that does not parse (skipped)."""
    try:
        if key.startswith(JTI):
            return Entry("jti", key[len(JTI) :], "", 0.0, float(stored))
        if key.startswith(SUBJECT):
            issuer, subject = json.loads(key[len(SUBJECT) :])
            before, expires = (float(part) for part in stored.split())
            return Entry("subject", str(subject), str(issuer), before, expires)
    except (ValueError, TypeError):
        return None
    return None


def write(client: Any, add: Iterable[Entry] = (), remove: Iterable[Entry] = (), *, missing_only: bool = False) -> int:
    """Store and announce a change (sync client, control plane); the new version. ``missing_only``
    (re-seeding from the database at start) leaves entries that exist alone."""
    added, removed = list(add), list(remove)
    now = time.time()
    pipe = client.pipeline(transaction=True)  # one slot on a cluster too (the hash tag)
    for entry in removed:  # first: a changed entry removes and adds the same key
        pipe.delete(entry.key)
    for entry in added:
        if entry.expires_at > now:
            pipe.set(entry.key, entry.stored(), pxat=int(entry.expires_at * 1000), nx=missing_only)
    pipe.incr(VERSION)
    version = int(pipe.execute()[-1])
    message = {"version": version, "add": [e.as_list() for e in added], "remove": [e.as_list() for e in removed]}
    client.publish(CHANNEL, json.dumps(message))
    return version


def scan_keys(keys: Iterable[bytes | str], values: Iterable[bytes | str | None]) -> Iterator[Entry]:
    for key, value in zip(keys, values, strict=True):
        if value is None:
            continue  # expired between the scan and the read
        text_key = key.decode() if isinstance(key, bytes) else key
        text_value = value.decode() if isinstance(value, bytes) else value
        entry = entry_from_key(text_key, text_value)
        if entry is not None:
            yield entry
