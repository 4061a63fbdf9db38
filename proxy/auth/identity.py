"""Identity headers: what the backend learns about the caller, built once per identity and route."""

from __future__ import annotations

from proxy.auth.config import Identity

HEADER_NAMES = {
    "consumer-id": b"x-consumer-id",
    "consumer-name": b"x-consumer-name",
    "roles": b"x-consumer-roles",
    "subject": b"x-consumer-subject",
}

Headers = list[tuple[bytes, bytes]]


class UnsafeIdentity(ValueError):
    """A value (say a JWT ``sub`` of ``"x\\r\\nX-Admin: 1"``) that cannot be sent as a header."""


def identity_headers(identity: Identity, wanted: tuple[str, ...]) -> Headers:
    out: Headers = []
    for kind in wanted:
        if kind == "consumer-id":
            value = identity.consumer_id
        elif kind == "consumer-name":
            value = identity.name
        elif kind == "roles":
            value = ",".join(sorted(identity.roles))
        else:
            value = identity.subject
        if not value:
            continue
        if not value.isprintable() or not value.isascii():
            raise UnsafeIdentity(kind)
        out.append((HEADER_NAMES[kind], value.encode()))
    return out


class HeaderCache:
    """``identity_headers`` remembered per identity object (API key identities live as long as the
    table; JWT identities as long as their verified token is remembered)."""

    def __init__(self, wanted: tuple[str, ...], size: int) -> None:
        self.wanted = wanted
        self.size = size
        # id -> (identity, headers): keeping the identity alive means its id cannot be reused.
        self._known: dict[int, tuple[Identity, Headers]] = {}

    def get(self, identity: Identity) -> Headers:
        known = self._known.get(id(identity))
        if known is not None and known[0] is identity:
            return known[1]
        headers = identity_headers(identity, self.wanted)
        if len(self._known) >= self.size:
            del self._known[next(iter(self._known))]
        self._known[id(identity)] = (identity, headers)
        return headers
