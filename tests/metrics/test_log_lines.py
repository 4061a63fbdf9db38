"""Log lines rendered by structlog: JSON or console, with the request id (and trace id) of the
request being handled."""

from __future__ import annotations

import io
import json
import logging

from gateway_project.logs import formatter, request_context


def _render(fmt: str, message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(fmt))
    logger = logging.getLogger("tests.log_lines")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_json_line_carries_the_request_and_trace_ids_of_the_current_request() -> None:
    token = request_context.set(("req-123", "4bf92f3577b34da6a3ce929d0e0e4736"))
    try:
        line = _render("json", "upstream %s broke off", "10.0.0.1:80")
    finally:
        request_context.reset(token)
    entry = json.loads(line)
    assert entry["event"] == "upstream 10.0.0.1:80 broke off"
    assert entry["level"] == "warning" and entry["logger"] == "tests.log_lines"
    assert entry["request_id"] == "req-123" and entry["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert entry["time"].endswith("Z")


def test_outside_a_request_there_is_no_request_id() -> None:
    entry = json.loads(_render("json", "config version 7"))
    assert "request_id" not in entry and "trace_id" not in entry


def test_the_console_format_is_one_readable_line() -> None:
    line = _render("console", "serving config version %d", 7)
    assert line.count("\n") == 1
    assert "serving config version 7" in line and "warning" in line and not line.startswith("{")
