"""The data plane's HTTP/1.1 upstream client: asyncio protocols and llhttp (``httptools``).

    ClientFailure                 what the client raises; ``proxy.upstream`` maps it to the error tree
    ├── ConnectFailed             no address of the target accepted a connection (502 upstream_unreachable)
    ├── TLSFailed                 the TLS handshake or certificate check failed (502 upstream_tls)
    ├── PoolBusy                  no connection to the target freed up in time (503 upstream_busy)
    ├── Disconnected              the backend closed before the first response byte (502 upstream_error)
    ├── BadResponse               a response that cannot be framed or parsed (502 upstream_bad_response)
    └── BrokenBody                the body ended early or was cut (502 upstream_error, or a cut stream)

Timeouts are plain ``TimeoutError`` (504 upstream_timeout). ``connection`` holds one connection's
protocol and parser, ``pool`` the keep-alive pools, the DNS cache and the TLS context.
"""

from __future__ import annotations


class ClientFailure(Exception):
    pass


class ConnectFailed(ClientFailure):
    pass


class TLSFailed(ClientFailure):
    pass


class PoolBusy(ClientFailure):
    pass


class Disconnected(ClientFailure):
    pass


class BadResponse(ClientFailure):
    pass


class BrokenBody(ClientFailure):
    pass
