"""Start the gateway under uvicorn with the settings every deployment needs.

    python -m gateway_project.serve --host 0.0.0.0 --port 8000 --workers 4

Use this (or the same flags on the uvicorn command line) rather than a bare ``uvicorn`` call:
- ``http=proxy.server:GatewayHttpToolsProtocol`` adds the header deadline and header caps;
- ``ws=realtime.server:GatewayWebSocketProtocol`` (uvicorn's websockets-sansio) closes WebSockets
  with 1001 on shutdown;
- ``proxy_headers=False``: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 and
  rewrite the client address; the gateway applies GATEWAY_TRUSTED_PROXIES itself;
- no Server/Date headers of uvicorn's own (the backend's are passed through);
- with several workers, a fresh prometheus-client multiprocess directory (``GATEWAY_VAR_DIR/metrics``,
  or ``PROMETHEUS_MULTIPROC_DIR``), exported before the workers start so each one's series are
  summed in ``/metrics`` (docs/observability.md);
- ``timeout_graceful_shutdown`` = ``GATEWAY_SHUTDOWN_GRACE``, the deadline the graceful shutdown on
  SIGTERM works to (gateway_project/shutdown.py);
- ``--admin-port`` (``GATEWAY_ADMIN_PORT``): a second listener, on ``--admin-host`` (loopback by
  default), for the admin, its API and metrics; the public port then serves proxied routes, health
  and the catalogue only (``proxy.app``, docs/edge.md). Every worker serves both sockets.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

UVICORN_OPTIONS: dict[str, object] = {
    "http": "proxy.server:GatewayHttpToolsProtocol",
    "loop": "uvloop",
    "ws": "realtime.server:GatewayWebSocketProtocol",  # websockets-sansio, closing with 1001 on shutdown
    "lifespan": "on",
    "proxy_headers": False,
    "server_header": False,
    "date_header": False,
    "access_log": False,
}


def uvicorn_argv() -> list[str]:
    """The same options as uvicorn command-line flags, for scripts that start a subprocess."""
    return [
        "--http", "proxy.server:GatewayHttpToolsProtocol",
        "--loop", "uvloop",
        "--ws", "realtime.server:GatewayWebSocketProtocol",
        "--lifespan", "on",
        "--no-proxy-headers",
        "--no-server-header",
        "--no-date-header",
        "--no-access-log",
    ]  # fmt: skip


_metrics_prepared = False


def prepare_metrics(workers: int) -> None:
    """Before anything imports prometheus_client: an empty multiprocess directory when needed (once
    per process: the launcher calls it before its own django.setup(), then runs main())."""
    global _metrics_prepared
    if _metrics_prepared:
        return
    _metrics_prepared = True
    from gateway_project.bootstrap import VAR_DIR
    from proxy.metrics.multiproc import ENV, prepare_directory

    explicit = os.environ.get(ENV)
    if explicit or workers > 1:
        prepare_directory(explicit or VAR_DIR / "metrics")


# What each process keeps to itself without Redis: with several workers, each of these silently breaks.
PER_PROCESS_STATE = (
    "rate limits are counted per worker (a limit of 3 per minute admits 3 per worker)",
    "circuit breakers open per worker",
    "WebSocket channel fan-out reaches only the subscribers of the worker that received the publish",
    "configuration changes reach the other workers by polling only",
)


def refuse_per_process_state(workers: int) -> str | None:
    """Why ``workers`` processes must not start without Redis, or None when they may."""
    from gateway_project.env import env_bool

    if workers <= 1 or os.environ.get("REDIS_URL") or env_bool("GATEWAY_ALLOW_PER_PROCESS_STATE", False):
        return None
    lines = "\n".join(f"  - {item}" for item in PER_PROCESS_STATE)
    return (
        f"serve: --workers {workers} without REDIS_URL: each worker would keep its own state, so\n{lines}\n"
        "Set REDIS_URL (the production setup), run one worker, or set GATEWAY_ALLOW_PER_PROCESS_STATE=1 "
        "to accept this."
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description="Serve the gateway with uvicorn and the gateway's protocol classes (docs/edge.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default=os.environ.get("GATEWAY_HOST", "127.0.0.1"), help="address to bind")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8000")), help="port to bind")
    parser.add_argument(
        "--admin-port",
        type=int,
        default=int(os.environ.get("GATEWAY_ADMIN_PORT") or 0),
        help="serve the admin, its API and metrics on this port only (0: on --port, with everything else)",
    )
    parser.add_argument(
        "--admin-host", default=os.environ.get("GATEWAY_ADMIN_HOST", "127.0.0.1"), help="address of --admin-port"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("GATEWAY_WORKERS", "1")),
        help="worker processes (more than one needs REDIS_URL for shared state)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("GATEWAY_LOG_LEVEL", "info").lower(),
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's and the gateway's log level",
    )
    args = parser.parse_args()
    if args.admin_port and args.admin_port == args.port:
        parser.error("--admin-port must differ from --port")
    refusal = refuse_per_process_state(args.workers)
    if refusal:
        raise SystemExit(refusal)
    # The workers read it from the environment (gateway_project.settings), as every setting.
    os.environ["GATEWAY_ADMIN_PORT"] = str(args.admin_port)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
    from gateway_project.bootstrap import prepare

    prepare()
    prepare_metrics(args.workers)
    from gateway_project.env import env_float
    from gateway_project.logs import default_format, uvicorn_log_config

    fmt = os.environ.get("GATEWAY_LOG_FORMAT", "").strip().lower() or default_format(
        os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    )
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level,
        "log_config": uvicorn_log_config(fmt, args.log_level),
        "timeout_graceful_shutdown": int(env_float("GATEWAY_SHUTDOWN_GRACE", 20.0, minimum=1.0)),
        **UVICORN_OPTIONS,
    }
    if not args.admin_port:
        uvicorn.run("gateway_project.asgi:application", **options)
        return
    serve_two_listeners(options, args.admin_host, args.admin_port)


def serve_two_listeners(options: dict[str, Any], admin_host: str, admin_port: int) -> None:
    """``uvicorn.run`` with a second bound socket: uvicorn serves every socket it is given with the same
    application (in each worker), and the application tells them apart by the local port."""
    import sys

    from uvicorn import Config, Server
    from uvicorn.supervisors import Multiprocess

    config = Config("gateway_project.asgi:application", **options)
    admin = Config("gateway_project.asgi:application", **{**options, "host": admin_host, "port": admin_port})
    sockets = [config.bind_socket(), admin.bind_socket()]
    if config.workers > 1:
        Multiprocess(config, sockets=sockets).run()
    else:
        config.load_app()
        server = Server(config)
        server.run(sockets=sockets)
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE


if __name__ == "__main__":
    main()
