"""Create the benchmark's configuration: one service, one target, one route on / with no policies.

    DATABASE_URL=... GATEWAY_VAR_DIR=... python bench/setup_gateway.py UPSTREAM_PORT

Run after ``manage.py migrate`` with the same environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(upstream_port: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    import django

    django.setup()
    from registry.models import Route, Service, Target

    service, _ = Service.objects.get_or_create(slug="bench", defaults={"name": "bench"})
    Target.objects.update_or_create(service=service, host="127.0.0.1", defaults={"port": upstream_port})
    Route.objects.update_or_create(
        name="bench", defaults={"service": service, "path_prefix": "/", "strip_prefix": True}
    )
    print(f"bench service -> 127.0.0.1:{upstream_port}, route / (no policies)")


if __name__ == "__main__":
    main(int(sys.argv[1]))
