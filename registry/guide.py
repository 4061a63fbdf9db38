"""Human labels and help text for the admin's configuration forms, set on the form fields (not the
models, so no migration follows a wording change). A field's own help text wins; these fill the
gaps, and ``tests/registry/test_guided_forms.py`` fails when a form field has none."""

from __future__ import annotations

from typing import Any

LABELS = {
    "api_version": "API version",
    "api_key_header": "API key header",
    "api_key_query_param": "API key query parameter",
    "jwt_issuers": "JWT issuers",
    "allow_gateway_users": "Accept the gateway's admin API tokens",
    "forward_authorization": "Forward the Authorization header",
    "max_body_bytes": "Largest request body (bytes)",
    "lb_algorithm": "Load balancing",
    "websocket": "WebSocket",
    "websocket_max_message_bytes": "Largest WebSocket message (bytes)",
    "websocket_max_connections": "WebSocket connections per process",
    "websocket_max_connections_per_consumer": "WebSocket connections per consumer",
    "websocket_idle_timeout": "WebSocket idle timeout",
    "request_headers_remove": "Request headers to remove",
    "request_headers_rename": "Request headers to rename",
    "request_headers_set": "Request headers to set",
    "request_headers_add": "Request headers to add",
    "response_headers_remove": "Response headers to remove",
    "response_headers_set": "Response headers to set",
    "response_headers_add": "Response headers to add",
}

HELP = {
    "name": "A name people recognise; unique.",
    "description": "What this is for, for the next person reading it.",
    "enabled": "Off: kept, but left out of the routing table.",
    "protocol": "How the gateway talks to the targets (HTTPS verifies their certificates).",
    "lb_algorithm": "How a request picks one of the service's targets.",
    "service": "The backend that receives what matches.",
    "port": "TCP port of the target, 1-65535.",
    "auth_mode": "What a caller must present; none leaves the route open.",
    "breaker_enabled": "Stop sending to a target that keeps failing, and try it again after a while.",
    "breaker_half_open_successes": "Successful probes that close the breaker again.",
    "health_check_healthy_successes": "Passed checks in a row that mark an unhealthy target healthy again.",
    "health_check_unhealthy_failures": "Failed checks in a row that take a target out of load balancing.",
    "hsts_include_subdomains": "Add includeSubDomains to Strict-Transport-Security.",
    "hsts_preload": "Add preload (only when the domain is on the browsers' preload list).",
    "content_type_options": "Send X-Content-Type-Options: nosniff.",
    "frame_options": "Who may frame the answers; empty: not sent (or the profile's).",
    "referrer_policy": "Empty: not sent (or the profile's).",
    "content_security_policy": "Sent as is; empty: not sent (or the profile's).",
    "permissions_policy": "Sent as is; empty: not sent (or the profile's).",
    "metadata": 'Free JSON for your own use, flat: {"team": "payments", "tags": ["a", "b"]}.',
}


def guide_form(form_class: Any) -> Any:
    """Give every field of ``form_class`` its human label and, where it has none, a help text."""
    for name, field in form_class.base_fields.items():
        if name in LABELS:
            field.label = LABELS[name]
        if not field.help_text and name in HELP:
            field.help_text = HELP[name]
    return form_class
