from __future__ import annotations

from django.urls import path

from breaker import views

urlpatterns = [path("health/services", views.health_services, name="health-services")]
