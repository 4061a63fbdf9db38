"""The portal's public paths (included by ``gateway_project.urls``; reserved from routes)."""

from __future__ import annotations

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView

from portal import views
from portal.access import PortalAccess

documents = [
    path("api/v1/openapi.json", views.MergedDocument.as_view(), name="portal-document"),
    path("api/v1/services/<slug:slug>/openapi.json", views.ServiceDocument.as_view(), name="portal-service-document"),
    path("api/v1/docs", views.DocsPage.as_view(), name="portal-docs"),
]

urlpatterns: list[URLPattern] = [
    *documents,
    path(
        "api/v1/docs/schema/",
        SpectacularAPIView.as_view(
            patterns=documents,
            authentication_classes=views.AUTHENTICATION,
            permission_classes=[PortalAccess],
            custom_settings={
                "TITLE": "Gateway developer portal",
                "DESCRIPTION": "The portal's public endpoints: the published API documents and the docs page.",
                "PREPROCESSING_HOOKS": [],
            },
        ),
        name="portal-schema",
    ),
]
