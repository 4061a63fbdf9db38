"""Who is changing the configuration, and from where: set by the entry points, read by whoever
records changes (the audit journal in ``compliance``).

``ActorMiddleware`` (Django requests: admin or admin API), ``gateway_apply`` (``acting_as``) and the
Celery worker (``set_actor``) say who acts; anything else is a shell, acting as the OS user.
"""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    source: str  # admin, api, apply, celery, shell


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("config_actor", default=None)
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("config_request", default=None)


@contextmanager
def acting_as(name: str, source: str) -> Iterator[None]:
    token = _actor.set(Actor(name, source))
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(name: str, source: str) -> None:
    """For the rest of this context (a Celery worker process)."""
    _actor.set(Actor(name, source))


@contextmanager
def during_request(request: Any) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is not None:
        return actor
    request = _request.get()
    if request is not None:
        user = getattr(request, "user", None)  # DRF sets the token's user on the Django request too
        name = user.get_username() if user is not None and user.is_authenticated else ""
        source = "api" if request.path.startswith(("/admin/api/", "/api/")) else "admin"
        return Actor(name, source)
    return Actor(os_user(), "shell")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return ""


class ActorMiddleware:
    """Remembers the request being handled, so a change it makes names its user (Django side only:
    proxied paths never reach Django, so this is off the hot path)."""

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
