"""Whether one route's authentication is never weaker than another's, and the weakest one that
covers them all (``registry.auth_demand``): what a dynamic route asks of callers by default."""

from __future__ import annotations

import pytest

from registry.auth_demand import OPEN, Demand, covers, strictest

KEY = Demand("api_key")
KEY_ADMIN = Demand("api_key", roles=frozenset({"admin"}))
JWT = Demand("jwt")
EITHER = Demand("either")
JWT_ONE = Demand("jwt", issuers=frozenset({1}))
JWT_TWO = Demand("jwt", issuers=frozenset({2}))
ANONYMOUS_KEY = Demand("api_key", anonymous=True)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (OPEN, OPEN, True),
        (KEY, OPEN, True),
        (OPEN, KEY, False),
        (KEY, KEY, True),
        (KEY_ADMIN, KEY, True),
        (KEY, KEY_ADMIN, False),
        (KEY, EITHER, True),
        (EITHER, KEY, False),  # a JWT holder would get through
        (JWT, KEY, False),
        (Demand("introspection"), KEY, False),
        (JWT_ONE, JWT, True),
        (JWT, JWT_ONE, False),  # every issuer is more than one
        (JWT_ONE, JWT_TWO, False),
        (ANONYMOUS_KEY, KEY, False),
        (KEY, ANONYMOUS_KEY, True),
        (Demand("jwt", gateway_users=True), JWT, False),
        (JWT, Demand("jwt", gateway_users=True), True),
    ],
)
def test_a_demand_covers_another_when_it_admits_no_caller_the_other_refuses(
    a: Demand, b: Demand, expected: bool
) -> None:
    assert covers(a, b) is expected


def test_the_strictest_demand_covers_every_route() -> None:
    found = strictest([OPEN, EITHER, KEY_ADMIN, Demand("api_key", roles=frozenset({"ops"}))])

    assert found is not None and found.mode == "api_key" and found.roles == {"admin", "ops"}
    assert strictest([OPEN, OPEN]) == OPEN
    assert strictest([]) == OPEN
    assert strictest([ANONYMOUS_KEY]) == ANONYMOUS_KEY
    assert strictest([ANONYMOUS_KEY, KEY]) == KEY
    jwt = strictest([JWT, JWT_ONE, Demand("either", issuers=frozenset({1, 2}))])
    assert jwt is not None and jwt.mode == "jwt" and jwt.issuers == {1}


@pytest.mark.parametrize(
    "demands",
    [[KEY, JWT], [JWT_ONE, JWT_TWO], [Demand("introspection"), EITHER]],
    ids=["key-and-jwt", "two-issuers", "introspection-and-either"],
)
def test_no_strictest_demand_when_no_single_credential_satisfies_every_route(demands: list[Demand]) -> None:
    assert strictest(demands) is None


def test_two_issuers_in_common_with_either_leave_the_api_key() -> None:
    found = strictest([Demand("either", issuers=frozenset({1})), Demand("either", issuers=frozenset({2}))])

    assert found is not None and found.mode == "api_key"
