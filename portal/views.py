"""The portal's public pages (control plane, Django): the merged document, each service's, and the
docs page (Swagger UI, its assets served by the gateway from drf-spectacular-sidecar, no CDN).

    GET /api/v1/openapi.json                      every published service, one OpenAPI 3.1 document
    GET /api/v1/services/{slug}/openapi.json      one published service's document
    GET /api/v1/docs                              the page where developers browse and try every route
    GET /api/v1/docs/schema/                      the OpenAPI document of these endpoints
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import ConsumerCredentials, PortalAccess
from portal.publish import published

# Credentials are read only when the portal needs them, so a public portal's schema names none.
# Error answers (problem+json) are added to the schema by registry.api.schema.problem_responses.
AUTHENTICATION = [ConsumerCredentials, SessionAuthentication] if settings.GATEWAY_PORTAL_REQUIRE_AUTH else []


class OpenApiJsonRenderer(JSONRenderer):
    media_type = "application/json"
    format = "json"


class PortalView(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [PortalAccess]
    renderer_classes = [OpenApiJsonRenderer]

    def server_url(self) -> str:
        return settings.GATEWAY_PUBLIC_URL or self.request.build_absolute_uri("/").rstrip("/")


class MergedDocument(PortalView):
    @extend_schema(
        summary="Every published service in one OpenAPI 3.1 document",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="An OpenAPI 3.1 document.")},
    )
    def get(self, request: Request) -> Response:
        return Response(published(self.server_url())["merged"])


class ServiceDocument(PortalView):
    @extend_schema(
        summary="One published service's OpenAPI document, through the gateway's routes",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="An OpenAPI 3.0 or 3.1 document.")},
    )
    def get(self, request: Request, slug: str) -> Response:
        found = published(self.server_url())["services"].get(slug)
        if found is None:
            raise NotFound(f"No published API document for service {slug!r}.")
        return Response(found)


class DocsPage(PortalView):
    renderer_classes = [StaticHTMLRenderer]

    @extend_schema(
        summary="The developer portal: Swagger UI over the merged document",
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page.")},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(page(request))

    def check_permissions(self, request: Request) -> None:
        # The page holds no API details; it asks for a key itself when the documents need one.
        return None

    def perform_authentication(self, request: Request) -> None:
        return None


def page(request: Request) -> str:
    context: dict[str, Any] = {"require_auth": settings.GATEWAY_PORTAL_REQUIRE_AUTH}
    return render_to_string("portal/docs.html", context, request=request._request)
