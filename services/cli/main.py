"""The `samhandling` command."""
from __future__ import annotations

import argparse
import asyncio
import sys

import grpc
from google.protobuf import json_format

from services.cli.call import UnknownMethod
from services.platform.errors import error_info
from services.platform.settings import COMPONENTS, Settings, SettingsError
from services.sts.client import StsTokenError
from services.sts.clients import ClientRegistryError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="samhandling", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="migrate, seed and start the whole suite on loopback")
    serve = commands.add_parser("serve", help="run one component in this process")
    serve.add_argument("component", choices=COMPONENTS)
    commands.add_parser("status", help="health of every component; exit 0 only if all are SERVING")
    commands.add_parser("migrate", help="bring every backend database to the newest schema")
    commands.add_parser("seed", help="migrate and load the synthetic seeds (idempotent)")
    token = commands.add_parser("token", help="print an access token for a seeded client")
    token.add_argument("--client", required=True, help="client id, e.g. demo-ehr")
    token.add_argument("--scope", help="space-separated scopes (default: all of the client's)")
    call = commands.add_parser("call", help="call a gateway method with JSON, using server reflection")
    call.add_argument("method", help="e.g. samhandling.summary.v1.PatientSummaryService/GetPatientSummary")
    call.add_argument("body", nargs="?", default="{}", help="request as JSON")
    call.add_argument("--client", required=True, help="seeded client whose token to use")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        return _run(args, settings)
    except (SettingsError, StsTokenError, ClientRegistryError, json_format.ParseError, UnknownMethod) as exc:
        print(f"samhandling: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "up":
        from .up import up

        return up(settings)
    if args.command == "serve":
        from .serve import serve

        asyncio.run(serve(args.component, settings))
        return 0
    if args.command == "status":
        from .health import all_status

        answers = asyncio.run(all_status(settings))
        for component, status in answers.items():
            print(f"{component:<9} {settings.addresses[component]:<22} {status}")
        return 0 if all(s == "SERVING" for s in answers.values()) else 1
    if args.command in ("migrate", "seed"):
        from .setup import migrate_all, seed_all

        migrate_all(settings)
        if args.command == "seed":
            for component, count in seed_all(settings).items():
                print(f"{component}: {count} seeded")
        return 0
    from .token import client_token

    token = asyncio.run(client_token(settings, args.client, getattr(args, "scope", None)))
    if args.command == "token":
        print(token)
        return 0
    from .call import call

    try:
        print(call(settings.addresses["gateway"], args.method, args.body, token))
        return 0
    except grpc.RpcError as exc:
        reason, violations = error_info(exc)
        print(f"{exc.code().name} {reason}: {exc.details()}", file=sys.stderr)
        for field, description in violations.items():
            print(f"  {field}: {description}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
