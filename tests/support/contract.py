"""Running schemathesis (every check) against a live gateway's OpenAPI schema, from a test.

The run is bounded: ``GATEWAY_CONTRACT_EXAMPLES`` examples per operation (10 by default), at most
``GATEWAY_CONTRACT_SECONDS`` seconds (120), and a fixed seed (``GATEWAY_CONTRACT_SEED``), so CI is
repeatable and stays within its time budget; raise them locally to look harder. No example
database is kept between runs (a stale one replays old bodies).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = os.environ.get("GATEWAY_CONTRACT_EXAMPLES", "10")
SEED = os.environ.get("GATEWAY_CONTRACT_SEED", "1717")
SECONDS = os.environ.get("GATEWAY_CONTRACT_SECONDS", "120")


@dataclass(frozen=True)
class ContractRun:
    returncode: int
    output: str
    seconds: float

    @property
    def summary(self) -> str:
        return self.output[-6000:]


def run_schemathesis(
    schema_url: str, workdir: Path, headers: dict[str, str] | None = None, seconds: str = SECONDS
) -> ContractRun:
    argv = [
        # schemathesis's own `st`, with room for deep schemas: near the default recursion limit CPython
        # 3.11's ast.parse (hypothesis describing a strategy) fails ("AST constructor recursion depth
        # mismatch"), a crash of the generator, not a finding.
        sys.executable,
        "-c",
        "import sys; sys.setrecursionlimit(20000); sys.argv[0] = 'st'; "
        # hypothesis only parses a filter's lambda to describe it: on that CPython crash, a plain name.
        "import hypothesis.internal.lambda_sources as ls; _d = ls.lambda_description\n"
        "def _safe(f):\n"
        "    try: return _d(f)\n"
        "    except SystemError: return 'lambda'\n"
        "ls.lambda_description = _safe\n"
        "from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        schema_url,
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "2",
        "--generation-database",
        "none",
        # No NUL characters in generated text. The API refuses NUL everywhere with a 400 that the
        # schema announces (a pattern on every text field and parameter), tested by
        # tests/registry/test_admin_api_problems.py; but schemathesis does not honour a pattern on
        # object keys (propertyNames, as consumer metadata has), so it would send NUL keys as valid.
        "--generation-allow-x00",
        "false",
        # Generous: a 2-core machine shared with other test runs has slow moments, not slow endpoints.
        "--request-timeout",
        "30",
        "--max-time",
        seconds,
    ]
    for name, value in (headers or {}).items():
        argv += ["--header", f"{name}: {value}"]
    # The whole-configuration body of /admin/api/config/apply is free-form JSON at any depth: generating
    # it crashes hypothesis under CPython 3.11 ("AST constructor recursion depth mismatch"). Its
    # validation is tested directly (tests/registry, config lifecycle tests), so the run leaves it out.
    argv += ["--exclude-path-regex", "^/admin/api/config/apply"]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=900)
    if os.environ.get("GATEWAY_CONTRACT_REPORT"):  # the whole report, for a person to read
        Path(os.environ["GATEWAY_CONTRACT_REPORT"]).write_text(done.stdout + done.stderr)
    return ContractRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)
