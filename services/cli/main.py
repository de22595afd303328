"""The `samhandling` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

# The commands start children (PostgreSQL, HAProxy, the servers) with a pre-exec step (the death
# signal, the server account) while gRPC threads run in this process. gRPC's fork support would
# run its at-fork handlers in the child before exec, and those can abort the child (an epoll
# error on a descriptor the child no longer has). No child here uses gRPC before its exec, so the
# support is off; set before gRPC is first imported, which reads it.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc
from google.protobuf import json_format

from services.cli.call import UnknownMethod
from services.platform.errors import error_info
from services.platform.settings import BACKENDS, COMPONENTS, Settings, SettingsError
from services.sts.client_registry import ClientRegistryError
from services.sts.config import StsConfigError
from services.sts.token_client import StsTokenError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="samhandling", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="migrate, seed and start the whole suite on loopback")
    serve = commands.add_parser("serve", help="run one component in this process")
    serve.add_argument("component", choices=COMPONENTS)
    status = commands.add_parser("status", help="health of every replica; exit 0 only if all are SERVING")
    status.add_argument("--json", action="store_true", help="every replica and the load balancer as JSON")
    status.add_argument(
        "--gateway",
        metavar="URL",
        help="check the deployment through its public gateway only, e.g. https://grpc.samhandling.example.no",
    )
    status.add_argument(
        "--http", metavar="URL", help="with --gateway: the JSON API's public URL, whose readiness route is checked too"
    )
    status.add_argument(
        "--ca",
        metavar="FILE",
        type=Path,
        help="with --gateway/--http over https: the CA that issued their certificates (default: the system's roots)",
    )
    status.add_argument(
        "--timeout", metavar="SECONDS", type=float, help="with --gateway: how long each step may take (default 10)"
    )
    cluster = commands.add_parser("cluster", help="replicas of every component on PostgreSQL behind HAProxy")
    cluster.add_argument("--replicas", type=int, default=2, help="replicas of the gateway and of each backend (1-9)")
    cluster.add_argument(
        "--free-ports",
        action="store_true",
        help="replicas, PostgreSQL and the statistics page on free ports (public ports as configured)",
    )
    migrate = commands.add_parser("migrate", help="bring databases to the newest schema (safe to run concurrently)")
    migrate.add_argument(
        "backend",
        nargs="?",
        choices=(*BACKENDS, "gateway"),
        help="only this component's database (default: every backend and the gateway's)",
    )
    commands.add_parser("seed", help="migrate and load the synthetic seeds (idempotent)")
    commands.add_parser("rotate-keys", help="give the development STS a new signing key (no restart needed)")
    token = commands.add_parser("token", help="print an access token from the development STS")
    _identity_arguments(token)
    token.add_argument("--dpop", metavar="FILE", type=Path, help="bind the token to a new key, written to FILE")
    call = commands.add_parser("call", help="call a gateway method with JSON, using server reflection")
    call.add_argument("method", help="e.g. samhandling.summary.v1.PatientSummaryService/GetPatientSummary")
    call.add_argument("body", nargs="?", default="{}", help="request as JSON")
    _identity_arguments(call)
    call.add_argument("--dpop", action="store_true", help="use a DPoP-bound token and a proof")
    call.add_argument("--justification", help="why emergency access is needed (purpose ETREAT or BTG)")
    audit = commands.add_parser("audit", help="the access log").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="verify the access log through the gateway with its public key")
    verify.add_argument(
        "--client", default="demo-auditor", help="the auditor client to fetch with (default demo-auditor)"
    )
    verify.add_argument("--vkey", help="the pinned verifier key (C2SP vkey); default: as the gateway publishes it")
    verify.add_argument("--since", type=Path, metavar="FILE", help="also check consistency with this saved checkpoint")
    verify.add_argument("--save", type=Path, metavar="FILE", help="save the verified checkpoint to FILE")
    prove = audit.add_parser("prove", help="fetch a self-contained proof of one event (C2SP tlog-proof)")
    prove.add_argument("sequence", type=int, help="the event's sequence number")
    prove.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the proof")
    prove.add_argument(
        "--client", default="demo-auditor", help="the auditor client to fetch with (default demo-auditor)"
    )
    check = audit.add_parser("check-proof", help="verify an event proof offline with the log's public key alone")
    check.add_argument("proof", type=Path, help="a proof written by `samhandling audit prove`")
    check.add_argument("--vkey", required=True, help="the log's verifier key (C2SP vkey)")
    consent = commands.add_parser("consent", help="consent receipts").add_subparsers(
        dest="consent_command", required=True
    )
    receipt = consent.add_parser(
        "check-receipt", help="verify a downloaded consent receipt offline with the receipt keys"
    )
    receipt.add_argument("receipt", type=Path, help="a receipt file (kvittering-<rule>-v<N>.jws)")
    receipt.add_argument(
        "--keys",
        required=True,
        type=Path,
        metavar="FILE",
        help="the consent receipt keys (the JWK Set of /api/v1/consent-receipt-keys)",
    )
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        code = _run(args, settings)
        sys.stdout.flush()  # here, where a reader gone away is caught, not at interpreter exit
        return code
    except (
        SettingsError,
        StsConfigError,
        StsTokenError,
        ClientRegistryError,
        json_format.ParseError,
        UnknownMethod,
    ) as exc:
        print(f"samhandling: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`samhandling call ... | head`): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the signal


def _identity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", help="seeded client id, e.g. demo-ehr (default for a login: its seeded client)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--user", metavar="PID", help="log in as this seeded health person")
    who.add_argument("--patient", metavar="PID", help="log in as this seeded patient")
    parser.add_argument("--purpose", choices=("TREAT", "ETREAT", "COC", "BTG"), help="purpose of use to attest")
    parser.add_argument("--scope", help="space-separated scopes (default: all of the client's)")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "up":
        from .up import up

        return up(settings)
    if args.command == "serve":
        from services.platform.db import DatabaseNotReady

        from .serve import serve
        from .worker_supervisor import supervise, worker_index

        if settings.workers > 1 and args.component != "sts" and worker_index() is None:
            from services.platform.logs import configure_logging

            configure_logging(args.component)
            return supervise(args.component, settings.workers, settings.drain_seconds)

        try:
            asyncio.run(serve(args.component, settings))
        except DatabaseNotReady as exc:  # one line, no traceback: `samhandling migrate` is the fix
            print(f"samhandling: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "status":
        from .gateway_status import TIMEOUT_SECONDS
        from .status import gateway_status, status

        if args.gateway is not None:
            timeout = TIMEOUT_SECONDS if args.timeout is None else args.timeout
            return gateway_status(args.gateway, args.http, ca_file=args.ca, timeout=timeout, as_json_output=args.json)
        if args.http is not None or args.ca is not None or args.timeout is not None:
            raise SettingsError("--http, --ca and --timeout go with --gateway URL")
        return status(settings, as_json_output=args.json)
    if args.command == "cluster":
        from .cluster_command import run
        from .cluster_plan import make_plan
        from .dev_postgres import free_port

        try:
            plan = make_plan(settings.addresses, args.replicas, free_port=free_port if args.free_ports else None)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return run(settings, plan)
    if args.command in ("migrate", "seed"):
        from .database_setup import migrate_all, seed_all

        migrate_all(settings, (args.backend,) if args.command == "migrate" and args.backend else (*BACKENDS, "gateway"))
        if args.command == "seed":
            for component, count in seed_all(settings).items():
                print(f"{component}: {count} seeded")
        return 0
    if args.command == "rotate-keys":
        from services.sts.key_store import rotate_signing_keys

        if settings.production:
            raise SettingsError("the development STS does not run in production mode")
        print(rotate_signing_keys(settings.var_dir, settings.seeds_dir))
        return 0
    if args.command == "audit":
        return _audit(args, settings)
    if args.command == "consent":
        from .consent_receipt import check_receipt

        return check_receipt(args.receipt, args.keys)  # offline: no token, no gateway
    return _token_or_call(args, settings)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from .audit_proof import check_proof, prove
    from .audit_verify import VerifyOptions, audit_verify
    from .token import Identity, obtain_token

    if args.audit_command == "check-proof":
        return check_proof(args.proof, args.vkey)  # offline: no token, no gateway
    token = asyncio.run(obtain_token(settings, Identity(args.client)))
    try:
        if args.audit_command == "prove":
            return prove(settings.addresses["gateway"], token, args.sequence, args.out)
        return audit_verify(settings.addresses["gateway"], token, VerifyOptions(args.vkey, args.since, args.save))
    except grpc.RpcError as exc:
        return _refused(exc)


def _token_or_call(args: argparse.Namespace, settings: Settings) -> int:
    from .token import Identity, obtain_token, write_private_key

    identity = Identity(args.client, args.user, args.patient, args.purpose, args.scope)
    token = asyncio.run(obtain_token(settings, identity, dpop=bool(args.dpop)))
    if args.command == "token":
        if token.dpop_key is not None:
            write_private_key(token.dpop_key, args.dpop)
        print(token.access_token)
        return 0
    from .call import call

    try:
        for answer in call(
            settings.addresses["gateway"],
            args.method,
            args.body,
            token,
            public_url=settings.gateway_public_url,
            justification=args.justification,
        ):
            print(answer, flush=True)
        return 0
    except grpc.RpcError as exc:
        return _refused(exc)


def _refused(exc: grpc.RpcError) -> int:
    reason, violations = error_info(exc)
    print(f"{exc.code().name} {reason}: {exc.details()}", file=sys.stderr)
    for field, description in violations.items():
        print(f"  {field}: {description}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
