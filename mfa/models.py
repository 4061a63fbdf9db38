"""Second factors of admin accounts, as django-otp devices (so ``django_otp.match_token``, its session
login and middleware work with them): a TOTP authenticator app and a set of one-time backup codes.

Unlike django-otp's own plugins, no secret is stored in the clear: the TOTP key is encrypted and
backup codes are hashed (``mfa.sealing``). Changes are journaled by the compliance app like every
account change (``access.mfa.enrolled``, ``access.mfa.removed``), secrets never recorded.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin
from django_otp.oath import TOTP

from mfa.sealing import code_digest, normalise_code, unseal

STEP = 30
DIGITS = 6
TOLERANCE = 1  # one step either side: a phone clock a little off, a code typed as it changed


class TotpDevice(ThrottlingMixin, Device):
    encrypted_key = models.TextField(help_text="The shared secret, encrypted with GATEWAY_MFA_KEY.")
    last_t = models.BigIntegerField(default=-1, help_text="The time step of the last code accepted (no reuse).")
    drift = models.SmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        code = normalise_code(str(token))
        if len(code) != DIGITS or not code.isdigit():
            self.throttle_increment(commit=True)
            return False
        totp = TOTP(unseal(self.encrypted_key), STEP, 0, DIGITS, self.drift)
        totp.time = time.time()
        if not totp.verify(int(code), TOLERANCE, self.last_t + 1):
            self.throttle_increment(commit=True)
            return False
        self.last_t = totp.t()
        self.drift = totp.drift
        self.last_used_at = timezone.now()
        self.throttle_reset(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        return 1


class BackupCodes(ThrottlingMixin, Device):
    digests = models.JSONField(default=list, help_text="HMACs of the codes not used yet.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(Device.Meta):
        verbose_name = "backup codes"
        verbose_name_plural = "backup codes"

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = code_digest(str(token))
        if digest not in self.digests:
            self.throttle_increment(commit=True)
            return False
        self.digests = [d for d in self.digests if d != digest]  # each code works once
        self.last_used_at = timezone.now()
        self.throttle_reset(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        return 1

    @property
    def remaining(self) -> int:
        return len(self.digests)
