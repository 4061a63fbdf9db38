"""TLS contexts of the upstream client, built when the routing table is compiled, never on a request.

A context is made from a ``TLSIdentity``: the CA bundle (a file, PEM text, or neither: the system
store), the client certificate and its key (file paths). Verification is always on: the context
checks the chain and the host name, and there is no way to turn either off. ``TLSContexts`` keeps
one context per identity, so services with the same settings share it, and builds it again only
when one of its files changed on disk (a renewed certificate is picked up by the next compile).
A file that cannot be loaded is ``TLSConfigError``: that service's requests answer 502
``upstream_tls`` while the rest of the table works.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
from dataclasses import dataclass


class TLSConfigError(Exception):
    """The TLS files or PEM text of a context cannot be loaded."""


@dataclass(frozen=True, slots=True)
class TLSIdentity:
    ca_file: str = ""  # a PEM file (GATEWAY_UPSTREAM_CA_BUNDLE)
    ca_pem: str = ""  # PEM text (a service's own bundle); with neither, the system store
    cert: str = ""  # the client certificate's file
    key: str = ""  # its private key's file ("": the key is in the certificate's file)

    @property
    def digest(self) -> str:
        """A short stable name for pool keys: connections made with different settings never mix."""
        text = "\0".join((self.ca_file, self.ca_pem, self.cert, self.key))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def files(self) -> tuple[str, ...]:
        return tuple(name for name in (self.ca_file, self.cert, self.key) if name)


def tls_context(ca_bundle: str = "", client_cert: str = "", client_key: str = "", ca_pem: str = "") -> ssl.SSLContext:
    """Verification on (the system store, or only the given CA bundle), optional client certificate."""
    return build(TLSIdentity(ca_bundle, ca_pem, client_cert, client_key))


def build(identity: TLSIdentity) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=identity.ca_file or None, cadata=identity.ca_pem or None)
    except (OSError, ssl.SSLError, ValueError, TypeError) as exc:
        where = identity.ca_file or "(the service's PEM text)"
        raise TLSConfigError(f"the CA bundle {where} cannot be loaded: {_reason(exc)}") from exc
    if identity.cert:
        try:
            # An encrypted key fails here instead of OpenSSL asking for a passphrase on the terminal.
            context.load_cert_chain(identity.cert, identity.key or None, password=_no_passphrase)
        except (OSError, ssl.SSLError, ValueError, TLSConfigError) as exc:
            key = f" with the key {identity.key}" if identity.key else ""
            what = f"the client certificate {identity.cert}{key}"
            raise TLSConfigError(f"{what} cannot be loaded: {_reason(exc)}") from exc
    context.set_alpn_protocols(["http/1.1"])
    return context


class TLSContexts:
    """One context per identity, rebuilt only when a file it was made from changed."""

    def __init__(self) -> None:
        self._built: dict[TLSIdentity, tuple[tuple[float, ...], ssl.SSLContext]] = {}

    def context(self, identity: TLSIdentity) -> ssl.SSLContext:
        stamp = _stamp(identity)
        hit = self._built.get(identity)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        context = build(identity)
        self._built[identity] = (stamp, context)
        return context

    def keep(self, identities: set[TLSIdentity]) -> None:
        """Forget the contexts no service uses any more."""
        self._built = {i: built for i, built in self._built.items() if i in identities}


def _stamp(identity: TLSIdentity) -> tuple[float, ...]:
    stamps = []
    for name in identity.files():
        try:
            stamps.append(os.stat(name).st_mtime)
        except OSError:
            stamps.append(-1.0)
    return tuple(stamps)


def _no_passphrase() -> bytes:
    raise TLSConfigError("the key is encrypted; give the gateway an unencrypted key file")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TLSConfigError):
        return str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError) and exc.strerror:
        return exc.strerror
    return re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc)) or type(exc).__name__
