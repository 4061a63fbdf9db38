"""Tells the control-plane audit who is changing configuration (Django side only: proxied paths
never reach Django, so this is off the hot path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from compliance.config_audit import during_request


class AuditContextMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        with during_request(request):
            response: HttpResponse = self.get_response(request)
            return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        with during_request(request):
            response: HttpResponse = await self.get_response(request)
            return response
