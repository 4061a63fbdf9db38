"""``POST /realtime/publish``: backends publish to a channel or a client id; and the admin's live
connection overview.

The publish endpoint takes the caller's API key or JWT (``Authorization: Bearer ...``) like any
route, and needs the ``GATEWAY_REALTIME_PUBLISHER_ROLE`` role (consumers of the gateway; an admin
API token works when its user is linked to a consumer holding the role). Body:
``{"channel": "orders.42", "data": ...}`` or ``{"client_id": "42.tab-1", "data": ...}``; 202 when
handed to the channel layer.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from proxy.errors import (
    BadRequest,
    BodyTooLarge,
    DependencyDown,
    Forbidden,
    GatewayError,
    problem_response,
)
from proxy.headers import request_id_or_new
from realtime import counts, services
from realtime.fanout import auth_policy, current_config


class _Carrier:
    def __init__(self, request: HttpRequest) -> None:
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()]
        self.query = b""


@csrf_exempt
@require_POST
async def publish(request: HttpRequest) -> HttpResponse:
    request_id = request_id_or_new(request.headers.get("X-Request-ID", "").encode("latin-1"))
    try:
        target, data = await _authorized_message(request)
        try:
            if "channel" in target:
                await services.publish(target["channel"], data)
            else:
                await services.publish_to_client(target["client_id"], data)
        except services.PublishRefused as exc:
            raise BadRequest(str(exc), reason="invalid_message") from None
    except GatewayError as error:
        return problem_response(request, error, request_id)
    response = HttpResponse(json.dumps({"published": True, **target}), status=202, content_type="application/json")
    response["X-Request-ID"] = request_id
    return response


async def _authorized_message(request: HttpRequest) -> tuple[dict[str, str], Any]:
    config = current_config()
    if config is None:
        raise DependencyDown("The gateway has not loaded its configuration yet.", reason="config_not_loaded")
    identity = await auth_policy(config).authenticate(_Carrier(request))
    role = settings.GATEWAY_REALTIME_PUBLISHER_ROLE
    if identity is None or role not in identity.roles:
        raise Forbidden(f"Publishing needs the role {role!r}.", reason="insufficient_role")
    if len(request.body) > settings.GATEWAY_REALTIME_MAX_PUBLISH_BYTES + 1024:
        raise BodyTooLarge("The message is too large.")
    try:
        body = json.loads(request.body)
    except ValueError:
        raise BadRequest("The body must be JSON.", reason="invalid_message") from None
    if not isinstance(body, dict) or "data" not in body or len({"channel", "client_id"} & body.keys()) != 1:
        raise BadRequest(
            'Send {"channel": ..., "data": ...} or {"client_id": ..., "data": ...}.', reason="invalid_message"
        )
    key = "channel" if "channel" in body else "client_id"
    if not isinstance(body[key], str):
        raise BadRequest(f"{key} must be a string.", reason="invalid_message")
    return {key: body[key]}, body["data"]


@staff_member_required
def live_connections(request: HttpRequest) -> HttpResponse:
    from django.contrib import admin

    processes = counts.gather()
    routes, channels = counts.totals(processes)
    context = {
        **admin.site.each_context(request),
        "title": "Live WebSocket connections",
        "processes": processes,
        "routes": sorted(routes.items()),
        "channels": sorted(channels.items()),
        "shared": bool(settings.REDIS_URL),
    }
    return render(request, "admin/realtime/live.html", context)
