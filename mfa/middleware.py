"""A session counts as signed in only when it satisfies the MFA policy.

After Django's ``AuthenticationMiddleware`` and django-otp's ``OTPMiddleware`` (which tells whether
the session was verified with a device):

- an account with a second factor whose session was not verified with it (signed in before setting
  it up, or forced in) is anonymous everywhere;
- an account that must set one up (``GATEWAY_ADMIN_MFA=required``) reaches only the enrolment page
  and sign-out; other admin pages redirect there, and every other view sees an anonymous user.

Django's side only (admin, admin API, metrics pages): proxied requests never get here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from mfa import policy

OK, UNVERIFIED, ENROL = "ok", "unverified", "enrol"
ENROLMENT_OPEN = ("/admin/mfa/enrol/", "/admin/logout/", "/admin/jsi18n/")


def state(user: Any) -> str:
    if not user.is_authenticated or not user.is_staff or policy.mode() == "off":
        return OK
    if getattr(user, "is_verified", lambda: False)():
        return OK
    if policy.has_device(user):
        return UNVERIFIED
    return ENROL if policy.must_enrol(user) else OK


class MfaMiddleware:
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
        redirect = self._gate(request)
        return redirect if redirect is not None else self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/admin/") and not request.path.startswith("/admin/api/"):
            redirect = await sync_to_async(self._gate)(request)  # reads the account's devices
        else:
            redirect = self._gate(request)  # only wraps the user lazily: no query here
        if redirect is not None:
            return redirect
        response: HttpResponse = await self.get_response(request)
        return response

    def _gate(self, request: HttpRequest) -> HttpResponse | None:
        if policy.mode() == "off" or not hasattr(request, "user"):
            return None
        original = request.user
        path = request.path
        if not path.startswith("/admin/") or path.startswith("/admin/api/"):
            request.user = SimpleLazyObject(lambda: original if state(original) == OK else AnonymousUser())  # type: ignore[assignment]
            return None
        found = state(original)
        if found == ENROL and not path.startswith(ENROLMENT_OPEN):
            return HttpResponseRedirect(reverse("mfa-enrol"))
        if found == UNVERIFIED:
            request.user = AnonymousUser()
        return None
