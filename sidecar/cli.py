"""``wa-sidecar``: argument parsing only; the work lives in ``app.py`` and services.

wa-sidecar serve [--config FILE] [--with-simulator]
wa-sidecar simulator [--port N] [--app-secret S] [--webhook-url URL] [--no-limits]
wa-sidecar check-config [--config FILE]
wa-sidecar audit verify [--config FILE]
wa-sidecar keys rotate [--config FILE]
wa-sidecar kpis [--config FILE] [--days 1,7,30]
wa-sidecar version
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from sidecar import __version__
from sidecar.errors import ConfigError, StoreUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wa-sidecar", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sidecar")
    serve.add_argument("--config", help="YAML settings file (environment variables win)")
    serve.add_argument(
        "--with-simulator",
        action="store_true",
        help="also start the Graph API simulator in-process and send to it (development)",
    )

    sim = sub.add_parser("simulator", help="run the Graph API simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8089)
    sim.add_argument("--app-secret", default=os.environ.get("WA_SIDECAR_APP_SECRET", ""))
    sim.add_argument("--token", action="append", default=[], help="accepted access token")
    sim.add_argument("--webhook-url", default="", help="where to POST signed status webhooks")
    sim.add_argument("--no-limits", action="store_true", help="disable 130429 and 131056")
    sim.add_argument("--latency-ms", type=float, default=0.0)

    check = sub.add_parser("check-config", help="validate settings offline; exit 1 on error")
    check.add_argument("--config")

    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify the hash chain end to end")
    verify.add_argument("--config")

    keys = sub.add_parser("keys", help="encryption key tools")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="re-encrypt stored data under the primary key")
    rotate.add_argument("--config")

    kpis = sub.add_parser(
        "kpis", help="print delivery, read and failure rates from the state store as JSON"
    )
    kpis.add_argument("--config")
    kpis.add_argument(
        "--days", default="1,7,30", help="comma-separated window lengths in days (default 1,7,30)"
    )

    sub.add_parser("version", help="print the version")
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(f"wa-sidecar: {message}\n")
    return 1


def _run(coro: Coroutine[Any, Any, int], uvloop: bool = False) -> int:
    if uvloop:
        try:
            import uvloop as _uvloop
        except ImportError:
            return _fail("WA_SIDECAR_UVLOOP is set but uvloop is not installed")
        return _uvloop.run(coro)
    return asyncio.run(coro)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    sys.exit(dispatch(args))


def dispatch(args: argparse.Namespace) -> int:
    from sidecar.config import load_settings

    if args.command == "version":
        sys.stdout.write(f"wa-policy-sidecar {__version__}\n")
        return 0
    if args.command == "simulator":
        return _simulator(args)
    try:
        settings = load_settings(getattr(args, "config", None))
        if args.command == "check-config":
            principals = ""
            if settings.auth_file:
                from sidecar.api.access import read_policy

                principals = f", {len(read_policy(settings.auth_file))} principals"
            sys.stdout.write(f"configuration ok (env={settings.env}{principals})\n")
            return 0
        from sidecar.telemetry.logs import configure_logging

        configure_logging(settings.log_level)
        if args.command == "serve":
            from sidecar.app import serve

            return _run(serve(settings, with_simulator=args.with_simulator), settings.uvloop)
        if args.command == "audit":
            from sidecar.tools import verify_audit

            return _run(verify_audit(settings))
        if args.command == "keys":
            from sidecar.tools import rotate_keys

            return _run(rotate_keys(settings))
        if args.command == "kpis":
            from sidecar.service.kpis import parse_windows
            from sidecar.tools import print_kpis

            try:
                windows = parse_windows(args.days)
            except ValueError as exc:
                return _fail(f"--days: {exc}")
            return _run(print_kpis(settings, windows))
    except ConfigError as exc:
        return _fail(f"invalid configuration: {exc}")
    except StoreUnavailable as exc:
        return _fail(f"store unavailable: {exc}")
    return _fail(f"unknown command {args.command}")


def _simulator(args: argparse.Namespace) -> int:
    from sidecar.simulator import SimulatorSettings, serve_simulator
    from sidecar.telemetry.logs import configure_logging

    configure_logging(os.environ.get("WA_SIDECAR_LOG_LEVEL", "INFO"))
    try:
        settings = SimulatorSettings(
            host=args.host,
            port=args.port,
            access_tokens=frozenset(args.token or ["dev-token"]),
            app_secret=args.app_secret.split(",")[0].encode() if args.app_secret else None,
            webhook_url=args.webhook_url or None,
            throughput_enabled=not args.no_limits,
            pair_limit_enabled=not args.no_limits,
            latency_ms=args.latency_ms,
        )
    except ValueError as exc:
        return _fail(f"invalid simulator settings: {exc}")

    async def run() -> int:
        await serve_simulator(settings)
        return 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 0


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
