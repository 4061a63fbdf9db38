"""Verb functions of revocation: revoke a token or a subject, lift a revocation, record and end the
admin's sign-ins. The admin, the admin API and the signals all call these."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

import jwt
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from proxy.auth.revocation import GATEWAY_ISSUER, denylist
from proxy.headers import client_address, is_trusted
from proxy.redis_clients import sync_client
from registry.actors import acting_as
from revocation import store
from revocation.models import AdminSession, JwtRevocation

log = logging.getLogger(__name__)


def revoke_jti(jti: str, expires_at: datetime | None = None, *, issuer: str = "", reason: str = "") -> JwtRevocation:
    row, _ = JwtRevocation.objects.update_or_create(
        kind=JwtRevocation.Kind.JTI, value=jti, issuer=issuer, defaults={"expires_at": expires_at, "reason": reason}
    )
    return row


def revoke_subject(
    subject: str, *, issuer: str = "", issued_before: datetime | None = None, reason: str = ""
) -> JwtRevocation:
    """Every token of ``subject`` issued before ``issued_before`` (now) is refused from now on."""
    row, _ = JwtRevocation.objects.update_or_create(
        kind=JwtRevocation.Kind.SUBJECT,
        value=subject,
        issuer=issuer,
        defaults={"issued_before": issued_before or timezone.now(), "expires_at": None, "reason": reason},
    )
    return row


def fill_defaults(row: JwtRevocation) -> None:
    """A subject's time is now unless given; an entry without an expiry lives GATEWAY_JWT_REVOCATION_SECONDS."""
    now = timezone.now()
    if row.kind == JwtRevocation.Kind.SUBJECT and row.issued_before is None:
        row.issued_before = now
    if row.expires_at is None:
        start = row.issued_before or now
        row.expires_at = start + timedelta(seconds=settings.GATEWAY_JWT_REVOCATION_SECONDS)


def entry_of(row: JwtRevocation) -> store.Entry:
    assert row.expires_at is not None
    before = row.issued_before.timestamp() if row.issued_before is not None else 0.0
    issuer = row.issuer if row.kind == JwtRevocation.Kind.SUBJECT else ""
    return store.Entry(row.kind, row.value, issuer, before, row.expires_at.timestamp())


def distribute(add: Iterable[store.Entry] = (), remove: Iterable[store.Entry] = ()) -> None:
    """Hand a change to every process. With Redis it is written now, inside the caller's transaction
    (a Redis failure undoes the change: ``RevocationUnavailable``); without it, this process's
    denylist takes it once the transaction commits."""
    added, removed = list(add), list(remove)
    if not settings.REDIS_URL:

        def apply() -> None:
            for entry in removed:
                entry.forget(denylist)
            for entry in added:
                entry.apply(denylist)

        transaction.on_commit(apply)
        return
    from redis.exceptions import RedisError

    try:
        store.write(sync_client(), added, removed)
    except (RedisError, OSError) as exc:
        log.error("a JWT revocation could not be written to Redis: %r", exc)
        raise store.RevocationUnavailable(f"Redis did not take the revocation ({exc}).") from None


def is_revoked(claims: dict[str, Any]) -> bool:
    """For the control plane (the admin API's own tokens): is this gateway token revoked? Reads the
    database, the store of record."""
    jti = str(claims.get("jti") or "")
    from rest_framework_simplejwt.settings import api_settings

    user_id = str(claims.get(api_settings.USER_ID_CLAIM))
    iat = claims.get("iat")
    now = timezone.now()
    subject = Q(kind=JwtRevocation.Kind.SUBJECT, value=user_id, issuer__in=("", GATEWAY_ISSUER))
    if isinstance(iat, int | float):
        subject &= Q(issued_before__gt=datetime.fromtimestamp(iat, tz=UTC))
    return JwtRevocation.objects.filter(
        (Q(kind=JwtRevocation.Kind.JTI, value=jti) if jti else Q(pk__in=[])) | subject, expires_at__gt=now
    ).exists()


# --- The admin's sign-ins -------------------------------------------------------------------------


def client_of(request: HttpRequest | None) -> tuple[str, str]:
    """(address, user agent) of a request, through the trusted proxies."""
    if request is None:
        return "", ""
    meta = request.META
    peer = str(meta.get("REMOTE_ADDR") or "")
    trusted = settings.GATEWAY_TRUSTED_PROXIES
    if trusted and is_trusted(peer, trusted):
        forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "")).encode("latin-1", "replace")
        peer = client_address(peer, forwarded, trusted)
    return peer[:64], str(meta.get("HTTP_USER_AGENT", ""))[:300]


def record_sign_in(user: Any, request: HttpRequest | None, tokens: dict[str, str] | None = None) -> AdminSession | None:
    """Called for every sign-in (``user_logged_in``): a browser session, or an admin API token pair."""
    address, agent = client_of(request)
    now = timezone.now()
    forget_ended(now)
    if tokens is not None:
        refresh = _claims(tokens["refresh"])
        access = _claims(tokens["access"])
        return AdminSession.objects.create(
            user=user,
            kind=AdminSession.Kind.API_TOKEN,
            key=str(refresh["jti"]),
            access_tokens=[[access["jti"], access["exp"]]],
            address=address,
            user_agent=agent,
            started_at=now,
            expires_at=datetime.fromtimestamp(refresh["exp"], tz=UTC),
        )
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key:
        return None
    row, _ = AdminSession.objects.update_or_create(
        key=key,
        defaults={
            "user": user,
            "kind": AdminSession.Kind.SESSION,
            "address": address,
            "user_agent": agent,
            "started_at": now,
        },
    )
    return row


def forget_ended(now: datetime) -> None:
    """Housekeeping (not a person's deletion, so not journaled): token pairs past their expiry, and
    sessions the session store no longer holds (database sessions: the default)."""
    with acting_as("gateway", "housekeeping"):
        AdminSession.objects.filter(kind=AdminSession.Kind.API_TOKEN, expires_at__lt=now).delete()
        if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
            from django.contrib.sessions.models import Session

            live = Session.objects.filter(expire_date__gt=now).values("session_key")
            AdminSession.objects.filter(kind=AdminSession.Kind.SESSION).exclude(key__in=live).delete()


def record_refreshed(refresh: str, access: str) -> None:
    """A new access token from a refresh token: kept with its sign-in, so ending that ends it too."""
    refresh_jti = str(_claims(refresh)["jti"])
    claims = _claims(access)
    with transaction.atomic():
        row = AdminSession.objects.select_for_update().filter(key=refresh_jti).first()
        if row is not None:
            row.access_tokens = [*row.access_tokens, [claims["jti"], claims["exp"]]][-1000:]
            row.save(update_fields=["access_tokens"])


def active_sign_ins(user: Any) -> list[AdminSession]:
    """The sign-ins of ``user`` that still work: sessions still stored, tokens not expired."""
    now = timezone.now()
    rows = list(AdminSession.objects.filter(user=user))
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    return [
        row
        for row in rows
        if (row.kind == AdminSession.Kind.SESSION and store_class().exists(row.key))
        or (row.kind == AdminSession.Kind.API_TOKEN and row.expires_at is not None and row.expires_at > now)
    ]


@transaction.atomic
def end_sign_ins(rows: Iterable[AdminSession], reason: str = "ended by an admin") -> int:
    """Sign the browser out (its session is deleted) or revoke the token pair (refresh and every
    access token issued from it), then forget the sign-in. Takes effect at once."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for row in rows:
        if row.kind == AdminSession.Kind.SESSION:
            store_class(session_key=row.key).delete()
        else:
            revoke_jti(row.key, row.expires_at, reason=reason)
            for jti, exp in row.access_tokens:
                if exp > timezone.now().timestamp():
                    revoke_jti(str(jti), datetime.fromtimestamp(exp, tz=UTC), reason=reason)
        row.delete()
        ended += 1
    return ended


def user_deactivated(user: Any) -> None:
    """A deactivated account: every sign-in ends, and every gateway token of it is refused."""
    end_sign_ins(AdminSession.objects.filter(user=user), reason="account deactivated")
    revoke_subject(str(user.pk), issuer=GATEWAY_ISSUER, reason="account deactivated")


def _claims(token: str) -> dict[str, Any]:
    # Tokens this gateway has just issued (or simplejwt has just verified): reading, not verifying.
    return jwt.decode(token, options={"verify_signature": False})
