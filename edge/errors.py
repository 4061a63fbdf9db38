"""The edge policies' own answers: 403 ``ip_denied``, 414 ``uri_too_long``."""

from __future__ import annotations

from proxy.errors import Forbidden, GatewayError


class IpDenied(Forbidden):
    reason = "ip_denied"


class PathTooLong(GatewayError):
    """A route with a path rewrite refuses paths its pattern could take long to run over."""

    status = 414
    reason = "uri_too_long"
