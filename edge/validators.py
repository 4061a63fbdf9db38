"""Field validators of the edge settings (used by the models, so the admin, the admin API and
``gateway_apply`` all refuse the same input with the same message)."""

from __future__ import annotations

from edge import cors, ip_lists, transform
from edge import headers as h
from registry.validators import beyond_schema

# Each rule here is a grammar no JSON Schema carries: a refused value is a 422 in the admin API.


@beyond_schema
def validate_origins(value: str) -> None:
    cors.parse_origins(value)


@beyond_schema
def validate_methods(value: str) -> None:
    cors.parse_methods(value)


@beyond_schema
def validate_cors_headers(value: str) -> None:
    cors.parse_header_list(value)


@beyond_schema
def validate_networks(value: str) -> None:
    ip_lists.parse_networks(value)


@beyond_schema
def validate_request_names(value: str) -> None:
    h.names(value, h.REQUEST_RESERVED - h.CREDENTIALS)


@beyond_schema
def validate_request_renames(value: str) -> None:
    h.renames(value, h.REQUEST_RESERVED)


@beyond_schema
def validate_request_values(value: str) -> None:
    h.header_values(value, h.REQUEST_RESERVED)


@beyond_schema
def validate_response_names(value: str) -> None:
    h.names(value, h.RESPONSE_RESERVED)


@beyond_schema
def validate_response_values(value: str) -> None:
    h.header_values(value, h.RESPONSE_RESERVED, credentials=True)


@beyond_schema
def validate_query_names(value: str) -> None:
    transform.query_names(value)


@beyond_schema
def validate_query_values(value: str) -> None:
    transform.query_values(value)


@beyond_schema
def validate_pattern(value: str) -> None:
    transform.parse_pattern(value)


@beyond_schema
def validate_policy_value(value: str) -> None:
    h.check_value(value, "policy")
