"""Boot checks: the edge policies in ``GATEWAY_POLICIES``, in an order that keeps their promises."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

AUTH = "proxy.auth.policy.AuthPolicy"
RESPONSE = "edge.policies.ResponseHeadersPolicy"
IP_LISTS = "edge.policies.IpListPolicy"
CORS = "edge.policies.CorsPolicy"
CONSUMER_IP_LISTS = "edge.policies.ConsumerIpListPolicy"
REQUEST = "edge.policies.RequestTransformPolicy"
ALL = (RESPONSE, IP_LISTS, CORS, CONSUMER_IP_LISTS, REQUEST)


@register()
def check_edge_policies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    chain = list(settings.GATEWAY_POLICIES)
    messages: list[CheckMessage] = []
    missing = [path for path in ALL if path not in chain]
    if missing:
        messages.append(
            Warning(
                f"GATEWAY_POLICIES lacks {', '.join(missing)}: the edge settings they apply are ignored.",
                hint="See docs/edge-policies.md for the order.",
                id="edge.W001",
            )
        )
    at = {path: chain.index(path) for path in (*ALL, AUTH) if path in chain}
    if AUTH in at:
        for path, why, code in (
            (IP_LISTS, "refused addresses would reach authentication (and learn whether a key is valid)", "edge.E001"),
            (CORS, "browsers send preflights without credentials, so they would be refused with 401", "edge.E002"),
        ):
            if path in at and at[path] > at[AUTH]:
                messages.append(Error(f"{path} comes after {AUTH}: {why}.", hint=f"List it before {AUTH}.", id=code))
        for path, code in ((CONSUMER_IP_LISTS, "edge.E003"), (REQUEST, "edge.E004")):
            if path in at and at[path] < at[AUTH]:
                messages.append(
                    Error(
                        f"{path} comes before {AUTH}, so it never knows the caller.",
                        hint=f"List it after {AUTH}.",
                        id=code,
                    )
                )
    if RESPONSE in at and any(at[p] < at[RESPONSE] for p in (IP_LISTS, CORS, AUTH) if p in at):
        messages.append(
            Warning(
                f"{RESPONSE} comes after a policy that refuses requests: those refusals get no security headers.",
                hint="List it right after compliance.policies.AuditPolicy.",
                id="edge.W002",
            )
        )
    return messages
