"""The snapshot loader: what the portal compiles into each routing table (``snapshot.extensions["portal"]``).

For each enabled route that validates requests, the ``DocumentValidator`` of its service's document
(None while the service has no good document: such a route answers 503). Validators are compiled
once per document version (its digest) and reused by later tables until the document changes; only
documents not compiled yet are read from the database. Also the credentials the portal's own
pages accept when ``GATEWAY_PORTAL_REQUIRE_AUTH`` is on. Runs in the table rebuild's thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from portal import dialect
from portal.models import RoutePortal, ServiceDocument
from portal.validation import DocumentValidator, compile_document
from proxy.auth.config import EITHER, AuthConfig
from proxy.specs import Snapshot
from registry.auth_compile import gateway_user_key

NAME = "portal"


@dataclass(frozen=True, slots=True)
class RouteValidation:
    service: str  # slug
    validator: DocumentValidator | None


@dataclass(frozen=True, slots=True, eq=False)
class PortalSnapshot:
    auth: AuthConfig  # API keys and JWTs of every enabled consumer and issuer, and gateway users
    validations: Mapping[int, RouteValidation] = field(default_factory=dict)  # by route id


_compiled: dict[str, DocumentValidator] = {}  # by digest: the validators of the last table built


def load_portal(snapshot: Snapshot) -> PortalSnapshot:
    global _compiled
    routes = {route.id: route for route in snapshot.routes}
    validated = list(
        RoutePortal.objects.filter(route_id__in=routes, validate_requests=True).values_list("route_id", flat=True)
    )
    services = {routes[route_id].service.id for route_id in validated}
    digests = dict(
        ServiceDocument.objects.filter(service_id__in=services, document__isnull=False)
        .exclude(digest="")
        .values_list("service_id", "digest")
    )
    missing = {digest for digest in digests.values() if digest not in _compiled}
    compiled = {digest: _compiled[digest] for digest in digests.values() if digest in _compiled}
    for digest, document in ServiceDocument.objects.filter(digest__in=missing).values_list("digest", "document"):
        if digest not in compiled and isinstance(document, dict):
            was_30 = str(document.get("openapi", "")).startswith("3.0.")
            compiled[digest] = compile_document(dialect.as_31(document), digest, read_only_optional=was_30)
    _compiled = compiled
    validations = {}
    for route_id in validated:
        service = routes[route_id].service
        kept = digests.get(service.id)
        validations[route_id] = RouteValidation(service.slug, compiled.get(kept) if kept else None)
    return PortalSnapshot(_portal_auth(snapshot), validations)


def _portal_auth(snapshot: Snapshot) -> AuthConfig:
    credentials = snapshot.credentials
    return AuthConfig(
        mode=EITHER,
        required_roles=frozenset(),
        allow_anonymous=False,
        key_header=b"x-api-key",
        key_query_param="",
        identity_headers=(),
        jwt_keys=(*credentials.jwt_keys, gateway_user_key()),
        credentials=credentials,
    )
