"""The secrets of second factors at rest: TOTP keys encrypted (they must be read back to compute a
code), backup codes hashed (they are only compared). Both keyed with ``GATEWAY_MFA_KEY``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet
from django.conf import settings

BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed from paper


def _fernet() -> Fernet:
    key = hashlib.sha256(b"gateway-mfa-totp:" + settings.GATEWAY_MFA_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: bytes) -> str:
    return _fernet().encrypt(secret).decode()


def unseal(sealed: str) -> bytes:
    return _fernet().decrypt(sealed.encode())


def new_backup_code() -> str:
    code = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def code_digest(code: str) -> str:
    key = hashlib.sha256(b"gateway-mfa-backup:" + settings.GATEWAY_MFA_KEY.encode()).digest()
    return hmac.new(key, normalise_code(code).encode(), hashlib.sha256).hexdigest()
