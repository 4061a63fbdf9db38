"""The data plane's view of the configuration: frozen specs, built by the control plane's loader.

``registry.snapshot.load_snapshot`` reads the database into one ``Snapshot`` (in a worker thread)
and ``proxy.table.compile_table`` turns it into the ``RoutingTable`` every request reads. Only what
the core proxy needs is here; a feature app keeps its own compiled settings in
``Snapshot.extensions[name]`` (see ``registry.snapshot.register_loader``), keyed by the ids below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.auth.config import AuthConfig, Credentials


@dataclass(frozen=True, slots=True)
class TargetSpec:
    id: int
    host: str
    port: int
    weight: int

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    id: int
    slug: str
    name: str
    scheme: str
    base_path: str
    connect_timeout: float
    read_timeout: float
    retries: int
    lb_algorithm: str
    preserve_host: bool
    targets: tuple[TargetSpec, ...]
    # TLS to https targets (``proxy.upstream.tls_identity``); each empty one uses the global setting.
    tls_ca_bundle: str = ""  # PEM text: only these CAs are trusted
    tls_client_cert: str = ""  # file path on this host
    tls_client_key: str = ""  # file path on this host ("": in the certificate's file)
    tls_server_name: str = ""  # SNI and the name verified; "": each target's host


@dataclass(frozen=True, slots=True)
class RouteSpec:
    id: int  # 0 for the dynamic /api/v1/{service} routes (proxy.table.dynamic_route)
    name: str
    service: ServiceSpec
    prefix: str
    host: str  # "" any, "api.example.com" exact, "*.example.com" wildcard
    methods: frozenset[str] | None
    strip_prefix: bool
    priority: int
    api_version: str
    version_in_path: bool
    version_in_header: bool
    max_body_bytes: int
    auth: AuthConfig | None = None  # None: no authentication step on this route
    body_timeout: float = 10.0  # seconds the whole request body may take (GATEWAY_BODY_DEADLINE)


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    services: tuple[ServiceSpec, ...]
    routes: tuple[RouteSpec, ...]
    credentials: Credentials = field(default_factory=Credentials)
    # The /api/v1/{service}/{path} routes of the services that opted in, each with its own auth.
    dynamic: tuple[RouteSpec, ...] = ()
    # What operators should know about this configuration (shown in /health/detailed).
    warnings: tuple[str, ...] = ()
    # What feature apps loaded for their own policies, by loader name.
    extensions: Mapping[str, Any] = field(default_factory=dict)
