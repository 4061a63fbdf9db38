"""A "Test this route" button on each route's admin page: the simulator, prefilled for the route."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from registry import validators as v
from registry.admin import extend
from registry.models import Route


def simulator_url(route: Route) -> str:
    methods = [m for m in route.methods.split(",") if m]
    host = route.host.replace("*.", "test.", 1) if route.host else "localhost"
    path = v.normalize_prefix(route.path_prefix or "/")
    if route.api_version and route.version_source != Route.VersionSource.HEADER:
        path = path.rstrip("/") + f"/{route.api_version}"
    query = {"method": methods[0] if methods else "GET", "host": host, "path": path}
    return f"{reverse('gateway-simulator')}?{urlencode(query)}"


class TestThisRoute:
    readonly_fields = ("test_this_route",)
    panels = (("Route simulator", {"fields": ("test_this_route",)}),)

    @admin.display(description="")
    def test_this_route(self, obj: Route) -> str:
        if obj.pk is None:
            return "Save the route first."
        return format_html('<a class="button" href="{}">Test this route</a>', simulator_url(obj))


extend(Route, TestThisRoute)
