"""Tracing off (the default) costs nothing: the app is not wrapped, and no tracer SDK or
instrumentation is loaded. (redis-py 7 imports OpenTelemetry's metrics API by itself when the package
is installed; its metrics stay off unless initialised, so that import costs nothing per request.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import gateway_project.asgi
from proxy import tracing
from proxy.app import GatewayApp
app = gateway_project.asgi.application.application_mapping["http"]
assert isinstance(app, GatewayApp)
from django.conf import settings
ours = ("opentelemetry.sdk.trace", "opentelemetry.instrumentation", "opentelemetry.exporter")
django_side = any("opentelemetry" in m for m in settings.MIDDLEWARE)  # the Django instrumentation's
print(django_side)
print(tracing.enabled, app.proxy == app._proxy, sorted(m for m in sys.modules if m.startswith(ours)))
"""


def _probe(**env: str) -> list[str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "GATEWAY_TRACING"}
    variables.update(env, DJANGO_SETTINGS_MODULE="gateway_project.settings")
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=variables, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-2:]


def test_by_default_no_tracing_code_is_loaded_or_wrapped() -> None:
    assert _probe() == ["False", "False True []"]  # no Django middleware of OpenTelemetry either


def test_naming_an_exporter_turns_tracing_on() -> None:
    django_side, line = _probe(OTEL_TRACES_EXPORTER="console")
    enabled, unwrapped, modules = line.split(" ", 2)
    assert (enabled, unwrapped, django_side) == ("True", "False", "True")
    assert "opentelemetry.sdk.trace" in modules
