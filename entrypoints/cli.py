"""The `eventapi` command line: the same container and use cases as HTTP, never HTTP.

Expected failures (bad configuration, a taken email, an unreachable database)
are one line on stderr and exit status 2; Ctrl-C is 130; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib.metadata import version
from typing import TypeVar
from uuid import UUID

from sqlalchemy.exc import InterfaceError, OperationalError

from application.ports.audit import AuditCriteria
from application.ports.storage import StorageUnavailable
from domain.errors import DomainError, EmailTaken, InvalidValue
from entrypoints.commands import CommandError
from entrypoints.commands.audit import moment, print_audit, read_audit
from entrypoints.commands.create_admin import create_admin, read_password
from entrypoints.commands.database import migrate
from entrypoints.commands.openapi import openapi_document
from entrypoints.commands.outbox import (
    print_failed,
    print_outbox,
    print_retried,
    read_failed,
    read_outbox,
    retry_failed,
)
from entrypoints.commands.preflight import check_database, check_mail
from entrypoints.commands.seed_demo import default_user_count, print_report, seed_demo
from entrypoints.commands.serve import serve
from entrypoints.commands.worker import work
from entrypoints.container import Container, build_container, close_resources
from entrypoints.logs import configure_logging
from entrypoints.settings import ConfigurationError, Settings

T = TypeVar("T")
EXPECTED_FAILURE = 2
INTERRUPTED = 130
CONFIGURATION = "Configuration: EVENTAPI_* environment variables, see docs/configuration.md."


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.handler is None:
        parser.print_help(sys.stderr)
        return EXPECTED_FAILURE
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # e.g. `eventapi openapi | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (
        CommandError,
        ConfigurationError,
        DomainError,
        StorageUnavailable,
        OperationalError,
        InterfaceError,
    ) as exc:
        print(f"eventapi {args.command}: error: {_explain(exc)}", file=sys.stderr)
        return EXPECTED_FAILURE
    except OSError as exc:  # a data folder that cannot be written, a refused connection...
        print(f"eventapi {args.command}: error: {exc}", file=sys.stderr)
        return EXPECTED_FAILURE


def _explain(exc: Exception) -> str:
    if isinstance(exc, InvalidValue):
        return f"{exc.field} {exc.message}"
    if isinstance(exc, EmailTaken):
        return "an account with this email already exists"
    if isinstance(exc, DomainError):
        return exc.detail
    if isinstance(exc, StorageUnavailable):
        return f"{exc.reason} (is the database up? EVENTAPI_DATABASE_URL names it)"
    if isinstance(exc, OperationalError | InterfaceError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return "cannot use the database: " + re.sub(r"^<class '[\w.]+'>: ", "", reason)
    return str(exc)


def _run(
    work: Callable[[Container], Awaitable[T]], *, check: Callable[[Settings], None] | None = None
) -> T:
    """Build the container from the environment, `check` the settings the command uses
    beyond the database, check the database answers, run `work`, and always close it."""
    settings = Settings.from_environment()
    if check is not None:
        check(settings)
    container = build_container(settings)

    async def run() -> T:
        try:
            await check_database(container)
            return await work(container)
        finally:
            await close_resources(container)

    return asyncio.run(run())


# -- commands ------------------------------------------------------------------------------


def _serve_command(args: argparse.Namespace) -> int:
    serve(Settings.from_environment(), host=args.host, port=args.port, workers=args.workers)
    return 0


def _migrate_command(args: argparse.Namespace) -> int:
    revision = _run(lambda container: migrate(container, args.revision))
    print(f"The database schema is at revision {revision}.")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    password = args.password if args.password is not None else read_password()
    user = _run(
        lambda container: create_admin(
            container, email=args.email, password=password, full_name=args.full_name
        )
    )
    print(f"Created admin {user.email} (id {user.id}). Sign in with POST /api/v1/auth/token.")
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    users = args.users if args.users is not None else default_user_count(args.events)
    report = _run(
        lambda container: seed_demo(
            container, events=args.events, users=users, seed=args.seed, progress=sys.stderr
        )
    )
    print_report(report, sys.stdout)
    return 0


def _openapi(_: argparse.Namespace) -> int:
    sys.stdout.write(openapi_document())
    sys.stdout.flush()
    return 0


def _outbox(args: argparse.Namespace) -> int:
    if args.failed:
        print_failed(_run(lambda container: read_failed(container, args.limit)), sys.stdout)
    elif args.retry is not None or args.retry_all:
        row_ids = None if args.retry_all else args.retry
        revived = _run(lambda container: retry_failed(container, row_ids))
        print_retried(revived, row_ids, sys.stdout)
    else:
        print_outbox(_run(lambda container: read_outbox(container, args.limit)), sys.stdout)
    return 0


def _audit(args: argparse.Namespace) -> int:
    criteria = AuditCriteria(
        actor_id=args.actor,
        subject_id=args.subject,
        action=args.action,
        since=args.since,
        until=args.until,
    )
    listing = _run(lambda container: read_audit(container, criteria, args.limit))
    print_audit(listing, sys.stdout, as_json=args.json)
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Exits 0 when stopped by SIGTERM or Ctrl-C (after the batch in hand), or when
    `--once` found nothing more to do."""
    # The worker's own records (batches, failures) on stderr; libraries stay at WARNING.
    configure_logging(Settings.from_environment().log_format)
    _run(
        lambda container: work(
            container,
            once=args.once,
            poll_interval=args.poll_interval,
            geocoding=not args.no_geocoding,
            out=sys.stdout,
        ),
        check=check_mail,
    )
    return 0


# -- arguments -----------------------------------------------------------------------------


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g} seconds")
        return value

    return parse


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id: {text!r}") from None


def _moment(text: str) -> datetime:
    try:
        return moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or an RFC 3339 date-time with its offset: {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventapi",
        description="Event management service: run it, migrate it, administer it.",
        epilog=CONFIGURATION,
    )
    parser.add_argument("--version", action="version", version=f"eventapi {version('eventapi')}")
    parser.set_defaults(handler=None, command=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], summary: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary, epilog=CONFIGURATION)
        sub.set_defaults(handler=handler, command=name)
        return sub

    serve = command(
        "serve",
        _serve_command,
        "Migrate the database to the newest schema, then serve the HTTP API.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument(
        "--port", type=_bounded(1, 65535), default=8000, help="TCP port (%(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=_bounded(1, 64),
        default=1,
        help="server processes (%(default)s); more than one needs PostgreSQL to pay off",
    )

    migrate = command("migrate", _migrate_command, "Upgrade the database schema.")
    migrate.add_argument("--revision", default="head", help="target revision (%(default)s)")

    admin = command(
        "create-admin",
        _create_admin,
        "Create an admin account. Without --password the password is read from stdin "
        "(asked twice, not echoed, at a terminal).",
    )
    admin.add_argument("--email", required=True, help="the admin's email address")
    admin.add_argument(
        "--password",
        help="visible to other users of this machine (ps, shell history): prefer stdin",
    )
    admin.add_argument("--full-name", default="Administrator", help="(default: %(default)s)")

    seed = command(
        "seed-demo",
        _seed_demo,
        "Fill the database with demo organizers, attendees and events (not in production).",
    )
    seed.add_argument(
        "--events",
        metavar="N",
        type=_bounded(1, 1_000_000),
        default=200,
        help="events to create, about 85%% published (%(default)s)",
    )
    seed.add_argument(
        "--users",
        metavar="M",
        type=_bounded(2, 100_000),
        help="demo accounts, a tenth of them organizers (default: N/10, within 10-2000)",
    )
    seed.add_argument("--seed", type=int, help="random seed, for the same data shape every time")

    command("openapi", _openapi, "Print the OpenAPI document (JSON) without starting a server.")

    outbox = command(
        "outbox",
        _outbox,
        "List the notifications in the outbox, newest first, and what became of them; "
        "list and revive the dead-lettered ones.",
    )
    outbox.add_argument(
        "--limit", metavar="N", type=_bounded(1, 10_000), default=20, help="rows (%(default)s)"
    )
    choice = outbox.add_mutually_exclusive_group()
    choice.add_argument(
        "--failed",
        action="store_true",
        help="list the dead-lettered messages, oldest first, with their last error",
    )
    choice.add_argument(
        "--retry",
        metavar="ID",
        nargs="+",
        type=_bounded(1, 2**63 - 1),
        help="revive these dead-lettered messages (ids from --failed): due now, full attempts",
    )
    choice.add_argument(
        "--retry-all", action="store_true", help="revive every dead-lettered message"
    )

    audit = command(
        "audit",
        _audit,
        "Print the audit log, newest first: sign-in failures and lockouts, password, "
        "role and active changes, event publishing, cancelling and deleting, attendee "
        "removals; who did it (the account id) and from which address.",
    )
    audit.add_argument(
        "--limit", metavar="N", type=_bounded(1, 10_000), default=50, help="entries (%(default)s)"
    )
    audit.add_argument("--actor", metavar="ID", type=_uuid, help="only what this account did")
    audit.add_argument("--subject", metavar="ID", type=_uuid, help="only what was done to this")
    audit.add_argument("--action", metavar="NAME", help="only this action, e.g. user.role_changed")
    audit.add_argument(
        "--since", metavar="WHEN", type=_moment, help="from this moment on (2030-05-01, or ...Z)"
    )
    audit.add_argument("--until", metavar="WHEN", type=_moment, help="before this moment")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")

    worker = command(
        "worker",
        _worker,
        "Deliver queued notifications (and geocode addresses, when configured) until "
        "SIGTERM or Ctrl-C, which stop it after the batch in hand. Not needed on the "
        "embedded SQLite default, where the server delivers them itself.",
    )
    worker.add_argument(
        "--once", action="store_true", help="stop as soon as nothing is due instead of waiting"
    )
    worker.add_argument(
        "--poll-interval",
        metavar="S",
        type=_seconds(0.01, 3600),
        default=1.0,
        help="seconds between looks at an empty outbox (%(default)s)",
    )
    worker.add_argument(
        "--no-geocoding",
        action="store_true",
        help="leave addresses to other workers even when EVENTAPI_GEOCODER is set",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
