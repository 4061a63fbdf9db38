from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def service_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"services": []})
