"""A guard in front of Django's own pages: a NUL byte in the path or the query string is a 400
problem+json, never a database error (Postgres refuses NUL in text: a lookup or filter with one
used to end in a 500 on the admin API and the admin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from proxy.errors import BadRequest, problem_response


class RefuseNulBytes:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            refusal = problem_response(
                request, BadRequest("NUL characters are not allowed in a URL.", reason="invalid_path")
            )
            if self.is_async:
                return self._answer(refusal)
            return refusal
        return self.get_response(request)

    async def _answer(self, response: HttpResponse) -> HttpResponse:
        return response
