"""The simulator's "send it for real": the request, as the route's transformations left it, sent
directly to the target the simulator chose (no gateway in between), with the service's timeouts
(at most ``MAX_SECONDS``). The answer is its status, headers and first ``MAX_BODY`` bytes; a failure
is a sentence, never an exception. Each send is announced on ``sent_for_real`` (the audit trail
records it as an admin action: ``compliance.config_audit``).

Only an explicit choice sends (the admin page's checkbox, ``send: true`` in the API); nothing else in
the simulator contacts a backend.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.dispatch import Signal

from proxy.upstream import tls_contexts, tls_identity
from registry.actors import current_actor

if TYPE_CHECKING:
    from proxy.specs import ServiceSpec
    from registry.simulate import Simulation

MAX_SECONDS = 30.0
MAX_BODY = 4096
# Not sent as given: the client's connection is not the backend's (httpx sets Host and the framing).
NOT_SENT = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"upgrade"})

# Sent with actor (registry.actors.Actor), method, url and real (Real), after each send.
sent_for_real = Signal()


@dataclass(slots=True)
class Real:
    sent: bool
    message: str = ""  # why it was not sent, or how it failed
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""  # the first MAX_BODY bytes, as text (undecodable bytes replaced)
    truncated: bool = False
    seconds: float = 0.0


def send_for_real(
    result: Simulation, service: ServiceSpec | None, headers: Sequence[tuple[bytes, bytes]], body: bytes
) -> Real:
    if result.upstream_url is None or service is None:
        return Real(False, "Not sent: no target would be contacted for this request.")
    answered = result.status is not None or any(step.stops for step in result.steps)
    if answered:  # a refusal, a preflight, a cache hit: the backend would not see it
        return Real(False, f"Not sent: the gateway would answer this request itself ({result.outcome.split(':')[0]}).")
    import httpx

    sent = [(n, v) for n, v in headers if n not in NOT_SENT]
    if service.preserve_host:
        sent.append((b"host", result.host.encode("idna")))
    timeout = httpx.Timeout(min(service.read_timeout, MAX_SECONDS), connect=min(service.connect_timeout, MAX_SECONDS))
    started = time.perf_counter()
    https = result.upstream_url.startswith("https:")
    extensions = {"sni_hostname": service.tls_server_name} if https and service.tls_server_name else None
    try:
        # Verified as the gateway verifies this service (its CA bundle, client certificate, server name).
        verify = tls_contexts.context(tls_identity(service)) if https else True
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=verify) as client,
            client.stream(
                result.method, result.upstream_url, headers=sent, content=body or None, extensions=extensions
            ) as answer,
        ):
            real = Real(True, status=answer.status_code, headers=[(n, v) for n, v in answer.headers.multi_items()])
            chunks, size = [], 0
            for chunk in answer.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    break
            data = b"".join(chunks)
            real.truncated = len(data) > MAX_BODY
            real.body = data[:MAX_BODY].decode("utf-8", "replace").replace("\x00", "\ufffd")  # JSON-safe text
    except Exception as exc:  # httpx.HTTPError, OSError, TLSConfigError, a bad URL: a message, never a 500
        real = Real(True, f"Failed: {type(exc).__name__}: {exc or 'no detail'}")
    real.seconds = round(time.perf_counter() - started, 3)
    sent_for_real.send(Real, actor=current_actor(), method=result.method, url=result.upstream_url, real=real)
    return real
