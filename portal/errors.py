"""The portal's answers on the data plane (subclasses of ``proxy.errors.GatewayError``).

BadRequest
└── RequestInvalid (400 request_invalid: the request does not match the service's document;
                    ``errors`` lists each problem with its location)
GatewayError
└── DocumentMissing (503 api_document_missing: the route validates, but no good document
                     of its service was fetched yet)
"""

from __future__ import annotations

from collections.abc import Sequence

from portal.validation import Problem
from proxy.errors import BadRequest, GatewayError


class RequestInvalid(BadRequest):
    reason = "request_invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        count = len(problems)
        detail = f"The request does not match the service's API document ({count} problem{'s' * (count != 1)})."
        super().__init__(detail, extensions={"errors": [problem.as_dict() for problem in problems]})


class DocumentMissing(GatewayError):
    status = 503
    reason = "api_document_missing"
