"""The account's own two-factor pages, in the admin (``/admin/mfa/``): status, setting up an
authenticator app (QR code, then a code to confirm it), backup codes (shown once), and removal."""

from __future__ import annotations

import secrets
from base64 import b32encode
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.oath import TOTP

from mfa import policy
from mfa.models import DIGITS, STEP, TOLERANCE, BackupCodes, TotpDevice
from mfa.sealing import code_digest, new_backup_code, normalise_code, seal, unseal

PENDING = "mfa_pending_key"  # the secret being set up, sealed, until a code confirms it
BACKUP_COUNT = 10


class CodeForm(forms.Form):
    code = forms.CharField(max_length=20, label="Code", widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title, **context})


def _totp(user: Any) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user, confirmed=True).first()


def overview(request: HttpRequest) -> HttpResponse:
    backup = BackupCodes.objects.filter(user=request.user).first()
    return _page(
        request,
        "mfa/overview.html",
        "Two-factor authentication",
        totp=_totp(request.user),
        backup=backup,
        mode=policy.mode(),
        required=policy.must_enrol(request.user),
    )


def config_uri(username: str, secret: bytes) -> str:
    issuer = settings.GATEWAY_ADMIN_MFA_ISSUER.replace(":", "")
    params = urlencode({"secret": b32encode(secret).decode().rstrip("="), "issuer": issuer, "digits": DIGITS,
                        "period": STEP, "algorithm": "SHA1"})  # fmt: skip
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?{params}"


def enrol(request: HttpRequest) -> HttpResponse:
    if _totp(request.user) is not None:
        messages.info(request, "An authenticator app is set up already; remove it first to set up another.")
        return HttpResponseRedirect(reverse("mfa-overview"))
    if request.method == "POST" and PENDING in request.session:
        secret = unseal(request.session[PENDING])
        form = CodeForm(request.POST)
        step = _matched_step(secret, form.cleaned_data["code"]) if form.is_valid() else None
        if step is not None:
            with transaction.atomic():
                device = TotpDevice.objects.create(
                    user=request.user, name="authenticator app", confirmed=True, encrypted_key=seal(secret),
                    last_t=step,  # the code just used is spent
                )  # fmt: skip
            del request.session[PENDING]
            otp_login(request, device)  # this session is verified from now on
            return _issue_backup_codes(request, "Authenticator app set up. Keep these backup codes somewhere safe.")
        form.add_error("code", "That code does not match: check the app's clock and enter the current code.")
    else:
        secret = secrets.token_bytes(20)
        request.session[PENDING] = seal(secret)
        form = CodeForm()
    uri = config_uri(request.user.get_username(), secret)
    qr = mark_safe(segno.make(uri, error="m").svg_inline(scale=4))  # noqa: S308  (our own SVG, no user input)
    key = b32encode(secret).decode().rstrip("=")
    return _page(request, "mfa/enrol.html", "Set up an authenticator app", form=form, qr=qr, key=key, uri=uri)


def _matched_step(secret: bytes, code: str) -> int | None:
    """The time step ``code`` belongs to (within the tolerance), or None."""
    code = normalise_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = TOTP(secret, STEP, 0, DIGITS)
    return int(totp.t()) if totp.verify(int(code), TOLERANCE) else None


def _issue_backup_codes(request: HttpRequest, note: str) -> HttpResponse:
    codes = [new_backup_code() for _ in range(BACKUP_COUNT)]
    with transaction.atomic():
        device, _ = BackupCodes.objects.get_or_create(user=request.user, defaults={"name": "backup codes"})
        device.digests = [code_digest(c) for c in codes]
        device.confirmed = True
        device.save()
    return _page(request, "mfa/backup_codes.html", "Backup codes", codes=codes, note=note)


@require_POST
def backup_codes(request: HttpRequest) -> HttpResponse:
    if _totp(request.user) is None:
        messages.error(request, "Set up an authenticator app first.")
        return HttpResponseRedirect(reverse("mfa-overview"))
    return _issue_backup_codes(request, "New backup codes: the old ones no longer work.")


@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    """Remove every second factor of this account; the current code (or a backup code) confirms it."""
    form = CodeForm(request.POST)
    if not form.is_valid() or policy.verify(request.user, form.cleaned_data["code"]) is None:
        messages.error(request, "Enter a current code to remove two-factor authentication.")
        return HttpResponseRedirect(reverse("mfa-overview"))
    with transaction.atomic():
        for model in (TotpDevice, BackupCodes):
            for device in model.objects.filter(user=request.user):
                device.delete()  # one journal event each (access.mfa.removed)
    messages.success(request, "Two-factor authentication removed from this account.")
    return HttpResponseRedirect(reverse("mfa-overview"))
