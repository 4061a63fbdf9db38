"""The admin API under /admin/api/: resources, JWT tokens, and the OpenAPI schema and docs (staff only)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAdminUser
from rest_framework.routers import DefaultRouter
from rest_framework_simplejwt.views import TokenRefreshView

from ratelimit.api.views import RatePolicyViewSet
from registry.api import views

app_name = "admin-api"

router = DefaultRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("targets", views.TargetViewSet, basename="target")
router.register("routes", views.RouteViewSet, basename="route")
router.register("consumers", views.ConsumerViewSet, basename="consumer")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("jwt-issuers", views.JwtIssuerViewSet, basename="jwt-issuer")
# Feature apps' resources share the one admin API (and its roles and tokens).
router.register("rate-policies", RatePolicyViewSet, basename="rate-policy")

urlpatterns: list[URLPattern | URLResolver] = [
    path("token/", views.StaffTokenObtainPairView.as_view(), name="token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    # drf-spectacular serves its schema and docs to anyone unless told otherwise.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAdminUser]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="admin-api:schema", permission_classes=[IsAdminUser]),
        name="docs",
    ),
    path("", include(router.urls)),
]
