from __future__ import annotations

from django.urls import path

from realtime import views

urlpatterns = [
    path("realtime/publish", views.publish, name="realtime-publish"),
    path("admin/realtime/live/", views.live_connections, name="realtime-live"),
]
