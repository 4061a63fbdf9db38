"""What the embedded default needs on disk before Django starts, made by the entry points.

``GATEWAY_VAR_DIR`` (default ``var/`` beside manage.py) holds the SQLite database, the secret key
made for this install, the Celery directory queue and exports. ``prepare()`` makes them; settings
only read them, so importing settings writes nothing. Every entry point calls ``prepare()`` first:
manage.py, ``gateway_project.launcher`` and ``.serve``, the ASGI and WSGI modules, and the test settings
(a Celery worker started on its own needs the key made, or ``DJANGO_SECRET_KEY``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

VAR_DIR = Path(os.environ.get("GATEWAY_VAR_DIR") or Path(__file__).resolve().parent.parent / "var").resolve()
SECRET_KEY_FILE = VAR_DIR / "secret_key"
FOLDERS = ("celery-queue", "celery-control")


def prepare() -> None:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    for name in FOLDERS:
        (VAR_DIR / name).mkdir(exist_ok=True)
    if os.environ.get("DJANGO_SECRET_KEY") or SECRET_KEY_FILE.exists():
        return
    # Made for this install and kept beside the database, never a fixed one; O_EXCL: two processes
    # starting at once keep the same key.
    try:
        fd = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50))


def read_secret_key() -> str:
    """The embedded default's key; an error that says what to do when it was never made."""
    try:
        key = SECRET_KEY_FILE.read_text().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not set and {SECRET_KEY_FILE} does not exist: start through manage.py, "
            "make run or python -m gateway_project.serve (they make it), or set DJANGO_SECRET_KEY."
        )
    return key
