"""WSGI entry point, for management tooling only: the gateway itself is served over ASGI."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from gateway_project.bootstrap import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
prepare()

application = get_wsgi_application()
