"""The admin API's core: JWT tokens, the OpenAPI schema and docs (staff only), and the resources of
services, targets, routes, consumers, API keys and JWT issuers. ``gateway_project.urls`` mounts it
under /admin/api/ with every other app's ``api/urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAdminUser
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenRefreshView

from registry.api import config_views, simulate_views, views

router = SimpleRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("targets", views.TargetViewSet, basename="target")
router.register("routes", views.RouteViewSet, basename="route")
router.register("consumers", views.ConsumerViewSet, basename="consumer")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("jwt-issuers", views.JwtIssuerViewSet, basename="jwt-issuer")
router.register("config/versions", config_views.ConfigVersionViewSet, basename="config-version")

urlpatterns: list[URLPattern | URLResolver] = [
    path("token/", views.StaffTokenObtainPairView.as_view(), name="token"),
    path("config/export", config_views.ConfigExportView.as_view(), name="config-export"),
    path("config/apply", config_views.ConfigApplyView.as_view(), name="config-apply"),
    path("simulate", simulate_views.SimulateView.as_view(), name="simulate"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    # drf-spectacular serves its schema and docs to anyone unless told otherwise.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAdminUser]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="admin-api:schema", permission_classes=[IsAdminUser]),
        name="docs",
    ),
]
