"""The entries of a ``gateway_apply`` file, as parsed, and the problems found in one.

Every entry remembers the line it starts on and the line of each of its keys, so that problems
found at any step (parsing, validation, checks against the database) name the right line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FORMAT_VERSION = 1
# Each kind's keys (the model fields of the same names), in the order gateway_export writes them.
SERVICE_FIELDS = (
    "name",
    "slug",
    "protocol",
    "base_path",
    "connect_timeout",
    "read_timeout",
    "retries",
    "lb_algorithm",
    "preserve_host",
    "enabled",
    "description",
    "breaker_enabled",
    "breaker_failures",
    "breaker_failure_ratio",
    "breaker_min_calls",
    "breaker_window",
    "breaker_failure_statuses",
    "breaker_open_seconds",
    "breaker_max_open_seconds",
    "breaker_half_open_probes",
    "breaker_half_open_successes",
    "health_check_path",
    "health_check_statuses",
    "health_check_timeout",
    "health_check_interval",
    "health_check_healthy_successes",
    "health_check_unhealthy_failures",
)
TARGET_FIELDS = ("host", "port", "weight", "enabled", "breaker_failures", "breaker_open_seconds")
# Consumers carry no secrets: their API keys are never exported or applied.
CONSUMER_FIELDS = ("name", "roles", "enabled")
ROUTE_FIELDS = (
    "name",
    "path_prefix",
    "host",
    "methods",
    "strip_prefix",
    "priority",
    "api_version",
    "version_source",
    "max_body_bytes",
    "auth_mode",
    "required_roles",
    "allow_anonymous",
    "api_key_header",
    "api_key_query_param",
    "identity_headers",
    "allow_gateway_users",
    "websocket",
    "websocket_origins",
    "websocket_token_in",
    "websocket_max_message_bytes",
    "websocket_max_connections",
    "websocket_max_connections_per_consumer",
    "websocket_idle_timeout",
    "audit",
    "phi",
    "enabled",
)


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str


class ConfigError(Exception):
    """The file cannot be applied; ``problems`` lists every reason found, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(f"{len(self.problems)} problem(s) in the configuration")

    def lines(self, source: str) -> list[str]:
        return [f"{source}:{p.line}: {p.message}" for p in self.problems]


@dataclass(frozen=True, slots=True)
class Entry:
    label: str  # how messages and the diff name this entry, e.g. "route 'orders-v2'"
    line: int
    key_lines: Mapping[str, int]
    # Fields that already have a problem; later checks skip them instead of reporting twice.
    invalid: frozenset[str]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True, slots=True)
class TargetSpec(Entry):
    host: str
    port: int
    weight: int
    enabled: bool
    breaker_failures: int | None
    breaker_open_seconds: float | None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RouteSpec(Entry):
    name: str
    path_prefix: str
    host: str
    methods: tuple[str, ...]
    strip_prefix: bool
    priority: int
    api_version: str
    version_source: str
    max_body_bytes: int | None
    auth_mode: str
    required_roles: str
    allow_anonymous: bool
    api_key_header: str
    api_key_query_param: str
    identity_headers: str
    allow_gateway_users: bool
    websocket: bool
    websocket_origins: str
    websocket_token_in: str
    websocket_max_message_bytes: int | None
    websocket_max_connections: int | None
    websocket_max_connections_per_consumer: int | None
    websocket_idle_timeout: float | None
    audit: bool
    phi: bool
    enabled: bool


@dataclass(frozen=True, slots=True)
class ServiceSpec(Entry):
    name: str
    slug: str
    protocol: str
    base_path: str
    connect_timeout: float
    read_timeout: float
    retries: int
    lb_algorithm: str
    preserve_host: bool
    enabled: bool
    description: str
    breaker_enabled: bool
    breaker_failures: int
    breaker_failure_ratio: float
    breaker_min_calls: int
    breaker_window: float
    breaker_failure_statuses: str
    breaker_open_seconds: float
    breaker_max_open_seconds: float
    breaker_half_open_probes: int
    breaker_half_open_successes: int
    health_check_path: str
    health_check_statuses: str
    health_check_timeout: float
    health_check_interval: float
    health_check_healthy_successes: int
    health_check_unhealthy_failures: int
    targets: tuple[TargetSpec, ...]
    routes: tuple[RouteSpec, ...]


@dataclass(frozen=True, slots=True)
class ConsumerSpec(Entry):
    name: str
    roles: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Config:
    services: tuple[ServiceSpec, ...]
    consumers: tuple[ConsumerSpec, ...] = ()
    # Only a file with a 'consumers' key manages consumers (and prunes those it does not list).
    manages_consumers: bool = False
