"""``RequestValidationPolicy``: a route's requests checked against its service's OpenAPI document
before the backend is called (only on routes that ask for it; others get no step).

The validator was compiled with the table (``portal.compile``); a request costs one path look-up,
parameter checks, and for operations with a JSON body, reading the body whole (under the route's
limit) and one schema check. A violation is a 400 problem+json whose ``errors`` name each problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from portal.compile import NAME, PortalSnapshot, RouteValidation
from portal.errors import DocumentMissing, RequestInvalid
from portal.validation import Problem, check_body, check_parameters
from proxy.body import buffer_body
from proxy.exchange import Exchange, Response
from proxy.pipeline import Handler

if TYPE_CHECKING:
    from proxy.specs import RouteSpec, Snapshot


class RequestValidationPolicy:
    name = "request_validation"

    def __init__(self, validation: RouteValidation) -> None:
        self.validator = validation.validator
        self.service = validation.service

    @classmethod
    def for_route(cls, route: RouteSpec, snapshot: Snapshot) -> RequestValidationPolicy | None:
        found = snapshot.extensions.get(NAME)
        if not isinstance(found, PortalSnapshot) or route.id not in found.validations:
            return None
        return cls(found.validations[route.id])

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Response:
        if self.validator is None:
            raise DocumentMissing(f"The API document of service {self.service!r} has not been fetched yet.")
        found = self.validator.find(exchange.upstream_path)
        operation = None
        if found is not None:
            operation = found.operations.get(exchange.method)
            if operation is None and exchange.method == "HEAD":
                operation = found.operations.get("GET")
        if found is None or operation is None:
            what = "path" if found is None else "method"
            self.refuse(
                exchange, [Problem(what, f"The API document has no {exchange.method} {exchange.upstream_path}.")]
            )
        problems = check_parameters(operation, found.path_values, exchange.query, exchange.headers)
        if operation.has_body:
            sent = exchange.chunked or bool(exchange.content_length)
            body = await buffer_body(exchange) if sent else None
            problems += check_body(operation, _content_type(exchange), body)
        if problems:
            self.refuse(exchange, problems)
        return await call_next(exchange)

    @staticmethod
    def refuse(exchange: Exchange, problems: list[Problem]) -> NoReturn:
        error = RequestInvalid(problems)
        # A body left unread cannot be skipped on a kept-alive connection.
        error.close_connection = (exchange.chunked or bool(exchange.content_length)) and exchange.buffered is None
        raise error


def _content_type(exchange: Exchange) -> str:
    for name, value in exchange.headers:
        if name == b"content-type":
            return value.decode("latin-1")
    return ""
