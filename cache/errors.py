"""The cache's own gateway error (RFC 9457 problem+json like every other, ``proxy.errors``)."""

from __future__ import annotations

from proxy.errors import GatewayError


class NotCached(GatewayError):
    """The client sent ``Cache-Control: only-if-cached`` and no usable entry exists (RFC 9111 5.2.1.7)."""

    status = 504
    reason = "not_cached"
