"""Every error of a DRF view (the admin API under /admin/api/, the portal's pages) as RFC 9457
problem+json, like the rest of the gateway: ``EXCEPTION_HANDLER`` in settings.

Authentication, permission and CSRF failures, 404s, unsupported methods and media types, throttling
and validation errors alike carry ``type``, ``title``, ``status``, ``detail``, ``request_id`` and
``X-Gateway-Error``; a validation error adds ``errors``, DRF's messages by field (or a list).

A validation error's status says what kind it is, by the codes of its messages:
400 ``invalid_request``   a value does not have the form the schema gives it;
409 ``conflict``          well formed, but at odds with what is stored: a name already taken, an
                          object referred to that does not exist, a route that would clash;
422 ``rule_violated``     well formed, but against a rule that a schema cannot carry: between
                          fields (HS256 needs a secret, required roles need an auth mode, ...) or
                          a value's own grammar (``registry.validators.beyond_schema``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from rest_framework import exceptions

from proxy.errors import GatewayError, problem_response

CONFLICT = "conflict"  # the code of a message about the stored state (registry.api.serializers)
RULE = "rule"  # the code of a message from a model's clean(): a rule between fields

# DRF's error codes as the gateway's reasons (X-Gateway-Error).
REASONS = {
    "invalid": "invalid_request",
    "parse_error": "invalid_request",
    "not_authenticated": "missing_credentials",
    "authentication_failed": "invalid_credentials",
    "permission_denied": "forbidden",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "rate_limited",
    "token_not_valid": "invalid_token",
}


class ApiProblem(GatewayError):
    def __init__(self, status: int, detail: str, reason: str, extensions: dict[str, object] | None = None) -> None:
        super().__init__(detail, reason=reason, extensions=extensions)
        self.status = status


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a server error: Django's handler500 answers (problem+json too)
    request = context["request"]
    response = problem_response(request._request if hasattr(request, "_request") else request, as_problem(exc))
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        response["Retry-After"] = str(int(wait))
    if isinstance(exc, exceptions.MethodNotAllowed) and context.get("view") is not None:
        response["Allow"] = ", ".join(context["view"].allowed_methods)
    return response


CONFLICT_CODES = frozenset({"unique", "does_not_exist", CONFLICT})
RULE_CODES = frozenset({RULE})


def as_problem(exc: exceptions.APIException) -> ApiProblem:
    if isinstance(exc, exceptions.ValidationError):
        codes = set(_leaves(exc.get_codes()))
        errors: dict[str, object] = {"errors": exc.detail}
        if codes and codes <= CONFLICT_CODES:
            return ApiProblem(409, "The request conflicts with the stored configuration.", "conflict", errors)
        if codes and codes <= CONFLICT_CODES | RULE_CODES:
            return ApiProblem(422, "The request breaks a rule between its fields.", "rule_violated", errors)
        return ApiProblem(exc.status_code, "The request is not valid.", "invalid_request", errors)
    code: Any = exc.get_codes() if isinstance(exc.detail, str) else exc.default_code
    detail = str(exc.detail)
    default = REASONS.get(str(exc.default_code), str(exc.default_code))
    reason = REASONS.get(str(code), default)
    if isinstance(exc.detail, dict):
        # simplejwt: {"detail": ..., "code": "token_not_valid", "messages": ...}; a sign-in step
        # (registry.signin): {"detail": ..., "code": "mfa_required"}, its code the reason as it is.
        detail, code = str(exc.detail.get("detail", detail)), exc.detail.get("code", code)
        reason = REASONS.get(str(code), str(code) or default)
    if isinstance(exc, exceptions.PermissionDenied) and detail.startswith("CSRF Failed"):
        reason = "csrf_failed"
    return ApiProblem(exc.status_code, detail, reason)


def _leaves(codes: object) -> list[str]:
    if isinstance(codes, dict):
        return [leaf for value in codes.values() for leaf in _leaves(value)]
    if isinstance(codes, list):
        return [leaf for value in codes for leaf in _leaves(value)]
    return [str(codes)]
