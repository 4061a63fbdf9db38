"""Sign-in events in the chain (``kind`` ``access``): the admin's and the admin API's.

Django's own signals carry them, so every way in is covered the same way: the admin login
(``user_logged_in``, ``user_login_failed``, ``user_logged_out``) and ``/admin/api/token/``, which
sends the same signals for tokens issued and refused (``registry.signin``).

- ``access.signin.succeeded``: the user; ``data.mfa`` names the second factor used, if any.
- ``access.signin.failed``: the username tried (never the password); ``data.reason`` is
  ``credentials`` (wrong password or unknown user: not told apart), ``not_staff``, or a second
  factor's reason (``mfa_code_missing``, ``mfa_code_invalid``, ``mfa_enrolment_required``).
- ``access.signout``.

``source`` says the way in (``admin`` or ``api``), ``client_ip`` the client (trusted-proxy aware).
The event is written before the sign-in completes: if the chain cannot take it, the sign-in fails.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.utils import timezone

from compliance import chain
from compliance.models import AuditEvent
from proxy.headers import client_address, is_trusted

USERNAME_LIMIT = 150  # what the admin accepts as a username; anything longer is cut


def _source(request: Any) -> str:
    path = str(getattr(request, "path", "") or "")
    return "api" if path.startswith("/admin/api/") else "admin"


def _client(request: Any) -> str:
    meta = getattr(request, "META", None) or {}
    peer = str(meta.get("REMOTE_ADDR") or "")
    trusted = settings.GATEWAY_TRUSTED_PROXIES
    if trusted and is_trusted(peer, trusted):
        forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "")).encode("latin-1", "replace")
        return client_address(peer, forwarded, trusted)
    return peer


def record_access(action: str, actor: str, request: Any, data: dict[str, Any]) -> None:
    meta = getattr(request, "META", None) or {}
    agent = str(meta.get("HTTP_USER_AGENT", ""))[:200]
    chain.append(
        [
            {
                "event_id": uuid.uuid4().hex,
                "kind": AuditEvent.Kind.ACCESS,
                "at": timezone.now(),
                "action": action,
                "actor": actor[:USERNAME_LIMIT],
                "source": _source(request),
                "client_ip": _client(request),
                "data": {**data, "user_agent": agent} if agent else data,
            }
        ]
    )


def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    device = getattr(user, "otp_device", None)
    record_access("access.signin.succeeded", user.get_username(), request, {"mfa": _device_kind(device)})


def _failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from django.contrib.auth import get_user_model

    tried = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    record_access("access.signin.failed", tried, request, {"reason": kwargs.get("reason", "credentials")})


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_access("access.signout", user.get_username() if user is not None else "", request, {})


def _device_kind(device: Any) -> str | None:
    return device._meta.model_name if device is not None else None


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="audit-signed-in")
    user_login_failed.connect(_failed, dispatch_uid="audit-signin-failed")
    user_logged_out.connect(_signed_out, dispatch_uid="audit-signed-out")
