"""Build configuration in the test database and wait until gateway processes serve it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from registry.models import ApiKey, ConfigVersion, Consumer, JwtIssuer, Route, Service, Target
from registry.sections import save_with_sections
from registry.services import current_config_version, issue_api_key
from tests.support.servers import GatewayProcess


class ConfigHelper:
    def __init__(self, gateways: list[GatewayProcess]) -> None:
        self.gateways = gateways
        # Transactional tests flush the tables between tests, which resets the version row; jump
        # past every version any running gateway served so the next sync cannot match a stale one.
        ConfigVersion.objects.update_or_create(pk=1, defaults={"version": time.time_ns() // 1000})

    def service(self, slug: str = "svc", targets: list[Any] = (), **fields: Any) -> Service:  # type: ignore[assignment]
        """A service; ``fields`` may include the fields of sections (breaker settings)."""
        values = {"name": fields.pop("name", slug.title()), "slug": slug, **fields}
        service = save_with_sections(Service(), values, clean=False)
        for target in targets:
            Target.objects.create(service=service, host="127.0.0.1", port=target.port)
        return service

    def route(
        self,
        service: Service,
        prefix: str,
        name: str | None = None,
        issuers: Sequence[JwtIssuer] = (),
        **fields: Any,
    ) -> Route:
        """A route, validated as the admin would; ``fields`` may include the fields of sections."""
        values = {
            "service": service,
            "name": name or f"{service.slug}{prefix.replace('/', '-')}",
            "path_prefix": prefix,
        }
        route = save_with_sections(Route(), {**values, **fields})
        if issuers:
            route.jwt_issuers.set(issuers)
        return route

    def consumer(self, name: str = "alice", roles: str = "", **fields: Any) -> Consumer:
        consumer = Consumer(name=name, roles=roles, **fields)
        consumer.full_clean()
        consumer.save()
        return consumer

    def api_key(self, consumer: Consumer, **fields: Any) -> tuple[ApiKey, str]:
        """A new key for ``consumer``: the row, and the full key (only ever seen here)."""
        issued = issue_api_key(consumer, **fields)
        return issued.api_key, issued.key

    def jwt_issuer(self, name: str = "idp", **fields: Any) -> JwtIssuer:
        values = {"issuer": "https://idp.example", "audience": "gateway"} | fields
        issuer = JwtIssuer(name=name, **values)
        issuer.full_clean()
        issuer.save()
        return issuer

    def sync(self) -> int:
        """Wait until every gateway serves the current version; return it."""
        version = current_config_version()
        for gateway in self.gateways:
            gateway.wait_for_version(version)
        return version
