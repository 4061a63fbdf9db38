"""Credentials from the subprotocol list or the query string, and the Origin rule."""

from __future__ import annotations

import pytest

from proxy.errors import Unauthorized
from realtime.errors import OriginRefused
from realtime.handshake import check_origin, take_credentials


def test_a_bearer_subprotocol_becomes_an_authorization_header_and_leaves_the_list() -> None:
    headers, query, protocols = take_credentials([], b"", ["chat.v1", "bearer.gw_x"], True, False)

    assert headers == [(b"authorization", b"Bearer gw_x")]
    assert protocols == ["chat.v1"]
    assert query == b""


def test_credentials_in_places_the_route_does_not_read_are_removed_but_not_used() -> None:
    headers, query, protocols = take_credentials([], b"a=1&access_token=t&b=2", ["bearer.k"], False, False)

    assert headers == []
    assert protocols == []
    assert query == b"a=1&b=2"


def test_the_query_parameter_is_url_decoded() -> None:
    headers, query, _ = take_credentials([], b"access_token=a%2Eb.c&x=1", [], False, True)

    assert headers == [(b"authorization", b"Bearer a.b.c")]
    assert query == b"x=1"


def test_two_credentials_are_refused() -> None:
    with pytest.raises(Unauthorized):
        take_credentials([(b"authorization", b"Bearer a")], b"", ["bearer.b"], True, False)
    with pytest.raises(Unauthorized):
        take_credentials([], b"access_token=a", ["bearer.b"], True, True)


def test_without_an_allow_list_only_the_gateways_own_host_is_an_allowed_origin() -> None:
    check_origin([(b"origin", b"http://gw.example:8000")], b"gw.example:8000", "ws", ())
    check_origin([(b"origin", b"https://gw.example")], b"gw.example:443", "wss", ())
    check_origin([], b"gw.example", "ws", ())  # not a browser: nothing to check
    with pytest.raises(OriginRefused):
        check_origin([(b"origin", b"http://evil.example")], b"gw.example", "ws", ())
    with pytest.raises(OriginRefused):
        check_origin([(b"origin", b"null")], b"gw.example", "ws", ())


def test_an_allow_list_and_the_wildcard() -> None:
    check_origin([(b"origin", b"https://App.example.com/")], b"gw", "ws", ("https://app.example.com",))
    check_origin([(b"origin", b"https://anything.example")], b"gw", "ws", ("*",))
    with pytest.raises(OriginRefused):
        check_origin([(b"origin", b"http://app.example.com")], b"gw", "ws", ("https://app.example.com",))
    with pytest.raises(OriginRefused):
        check_origin([(b"origin", b"https://a.example"), (b"origin", b"https://a.example")], b"gw", "ws", ("*",))
