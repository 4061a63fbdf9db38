"""Revoked JWTs, as each process holds them in memory: checked after a token's signature verified.

A token is refused when its ``jti`` is listed, or when its subject is listed with a time ("everything
issued before T") and the token's ``iat`` is earlier (a token without ``iat`` cannot show it was
issued later, so it is refused too). A subject entry names an issuer (the token's ``iss``, or
``GATEWAY_ISSUER`` for the gateway's own admin API tokens) or none, for every issuer.

The lists are fed by the ``revocation`` app (from Redis, or the database in the embedded default);
this module only holds them. A check is two or three dictionary look-ups, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GATEWAY_ISSUER = "gateway"  # the issuer name of this gateway's own tokens (simplejwt sets no iss)
ANY_ISSUER = ""


@dataclass(frozen=True, slots=True)
class TokenMark:
    """What revocation looks at in a verified token."""

    jti: str
    issuer: str
    subject: str
    issued_at: float | None


@dataclass(frozen=True, slots=True)
class SubjectEntry:
    issued_before: float  # epoch seconds: tokens issued earlier are refused
    expires_at: float  # when the entry may be forgotten


class Denylist:
    def __init__(self) -> None:
        self.jtis: dict[str, float] = {}  # jti -> when the entry may be forgotten (the token's exp)
        self.subjects: dict[tuple[str, str], SubjectEntry] = {}  # (issuer or "", subject)

    def revoked(self, mark: TokenMark) -> bool:
        if mark.jti and mark.jti in self.jtis:
            return True
        if not self.subjects:
            return False
        for key in ((mark.issuer, mark.subject), (ANY_ISSUER, mark.subject)):
            entry = self.subjects.get(key)
            if entry is not None and (mark.issued_at is None or mark.issued_at < entry.issued_before):
                return True
        return False

    def add_jti(self, jti: str, expires_at: float) -> None:
        self.jtis[jti] = expires_at

    def add_subject(self, issuer: str, subject: str, entry: SubjectEntry) -> None:
        current = self.subjects.get((issuer, subject))
        if current is None or current.issued_before < entry.issued_before:
            self.subjects[(issuer, subject)] = entry

    def replace(self, jtis: Mapping[str, float], subjects: Mapping[tuple[str, str], SubjectEntry]) -> None:
        # Two assignments: a request checks either the old or the new dictionaries, never half of one.
        self.jtis = dict(jtis)
        self.subjects = dict(subjects)

    def remove(self, jtis: Iterable[str] = (), subjects: Iterable[tuple[str, str]] = ()) -> None:
        for jti in jtis:
            self.jtis.pop(jti, None)
        for key in subjects:
            self.subjects.pop(key, None)

    def prune(self, now: float) -> None:
        """Forget entries past their lifetime (their tokens have expired anyway)."""
        if any(until <= now for until in self.jtis.values()):
            self.jtis = {jti: until for jti, until in self.jtis.items() if until > now}
        if any(entry.expires_at <= now for entry in self.subjects.values()):
            self.subjects = {key: entry for key, entry in self.subjects.items() if entry.expires_at > now}

    def __len__(self) -> int:
        return len(self.jtis) + len(self.subjects)


denylist = Denylist()
