"""The `eventapi` commands that need no server, run in-process through `main`.

Each test works in a fresh directory with no EVENTAPI_* configuration but a
cheap bcrypt cost, so the embedded default (SQLite in ./data) is what runs.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from adapters.actor_context import ACTORS
from adapters.mail.sink import read_message
from adapters.sql.migrate import head_revision
from application.ports.audit import Actor
from application.ports.queries import EventCriteria, EventView, PageRequest, UserCriteria
from application.principal import Principal
from application.use_cases.sign_in import SignInCommand
from application.use_cases.sign_up import SignUpCommand
from application.use_cases.update_user import UpdateUserCommand
from domain.errors import InvalidCredentials
from domain.event import EventStatus
from domain.users import Role
from entrypoints.cli import main
from entrypoints.commands.progress import ProgressBar
from entrypoints.commands.seed_demo import PASSWORDS
from entrypoints.container import Container, build_container, close_resources
from entrypoints.settings import Settings

T = TypeVar("T")

ADMIN_PASSWORD = "a long and unusual admin passphrase"
#: On the shipped list (adapters/data/common-passwords.txt) and long enough, so
#: only the common-password rule can refuse it.
COMMON_PASSWORD = "1qaz2wsx3edc"
#: For a subprocess to start (imports, migrations) or to stop.
SUBPROCESS_SECONDS = 60


@pytest.fixture(autouse=True)
def fresh_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [name for name in os.environ if name.startswith("EVENTAPI_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EVENTAPI_BCRYPT_ROUNDS", "4")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """Building the app (as `openapi` does) lets Litestar configure logging for the
    whole process, with handlers bound to this test's captured stderr; a later test
    would log into that closed stream. One command per process never meets this."""
    loggers = [logging.getLogger(name) for name in ("", "litestar", "eventapi")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    """Look at what a command left behind, through the same container it used."""
    container = build_container(Settings.from_environment())

    async def run() -> T:
        try:
            return await work(container)
        finally:
            await close_resources(container)

    return asyncio.run(run())


@dataclass(frozen=True)
class Cli:
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        """`eventapi ARGS` with `stdin` piped in: (exit status, stdout, stderr)."""
        if stdin is not None:
            self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = main(list(args))
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(capsys, monkeypatch)


# -- openapi -------------------------------------------------------------------------------


def test_openapi_prints_the_schema_without_touching_the_disk(
    cli: Cli, fresh_directory: Path
) -> None:
    status, out, err = cli("openapi")

    assert (status, err) == (0, "")
    schema = json.loads(out)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/events", "/api/v1/auth/token", "/health/ready"} <= set(schema["paths"])
    assert list(fresh_directory.iterdir()) == []  # no data folder, no generated key


def test_openapi_prints_the_same_text_every_time(cli: Cli) -> None:
    assert cli("openapi") == cli("openapi")


def test_openapi_works_where_production_settings_would_refuse_to_start(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTAPI_ENV", "production")  # and no secret key

    status, out, _ = cli("openapi")

    assert status == 0
    assert "/api/v1/events" in json.loads(out)["paths"]


# -- migrate -------------------------------------------------------------------------------


def test_migrate_brings_the_embedded_database_to_the_newest_schema(
    cli: Cli, fresh_directory: Path
) -> None:
    status, out, _ = cli("migrate")

    assert status == 0
    assert f"revision {head_revision()}" in out
    assert (fresh_directory / "data" / "eventapi.db").is_file()


def test_an_unknown_revision_is_a_clean_error(cli: Cli) -> None:
    status, _, err = cli("migrate", "--revision", "nonesuch")

    assert status == 2
    assert err.startswith("eventapi migrate: error: cannot migrate to 'nonesuch'")
    assert "Traceback" not in err


# -- create-admin --------------------------------------------------------------------------


def test_create_admin_takes_the_password_from_stdin_and_never_prints_it(
    cli: Cli,
) -> None:
    status, out, err = cli(
        "create-admin", "--email", "Root@Example.org", stdin=ADMIN_PASSWORD + "\n"
    )

    assert (status, err) == (0, "")
    assert "root@example.org" in out
    assert ADMIN_PASSWORD not in out

    async def signed_in_role(container: Container) -> Role:
        command = SignInCommand(email="root@example.org", password=ADMIN_PASSWORD)
        pair = await container.sign_in().execute(command)
        return (await container.identify_caller().execute(pair.access_token)).role

    assert with_container(signed_in_role) is Role.ADMIN


def test_create_admin_refuses_a_common_password(cli: Cli) -> None:
    status, out, err = cli(
        "create-admin", "--email", "root@example.org", "--password", COMMON_PASSWORD
    )

    assert (status, out) == (2, "")
    assert err == "eventapi create-admin: error: password is too common; choose another\n"

    async def admins(container: Container) -> int:
        page = await container.user_queries().search(UserCriteria(role=Role.ADMIN), PageRequest())
        return len(page.items)

    assert with_container(admins) == 0


def test_create_admin_refuses_a_taken_email(cli: Cli) -> None:
    assert cli("create-admin", "--email", "a@example.org", stdin=ADMIN_PASSWORD)[0] == 0

    status, _, err = cli("create-admin", "--email", "A@EXAMPLE.ORG", stdin=ADMIN_PASSWORD)

    assert status == 2
    assert err == "eventapi create-admin: error: an account with this email already exists\n"


def test_create_admin_without_any_password_says_how_to_give_one(
    cli: Cli,
) -> None:
    status, _, err = cli("create-admin", "--email", "a@example.org", stdin="")

    assert status == 2
    assert "no password given" in err


# -- seed-demo -----------------------------------------------------------------------------


async def every_event(container: Container) -> list[EventView]:
    found: list[EventView] = []
    for status in EventStatus:
        page = await container.event_queries().search(
            EventCriteria(status=status), PageRequest(limit=100)
        )
        assert page.next is None
        found.extend(page.items)
    return found


def test_seed_demo_creates_the_events_asked_for(cli: Cli) -> None:
    status, out, err = cli("seed-demo", "--events", "20", "--users", "12")

    assert status == 0
    assert "20/20 (100%)" in err  # the progress bar
    events = with_container(every_event)
    assert len(events) == 20
    assert len({event.title for event in events}) > 1
    assert {event.status for event in events} <= set(EventStatus)
    for event in events:
        assert event.location.city and event.location.country
        assert event.location.coordinates is not None
        assert event.ends_at > event.starts_at
        assert event.attendee_count <= event.capacity
        assert event.waitlist_count == 0 or event.waitlist_enabled
    assert re.search(r"Seeded 20 events \(\d+ published", out)


def test_seed_demo_prints_passwords_that_work(cli: Cli) -> None:
    status, out, _ = cli("seed-demo", "--events", "3", "--users", "10", "--seed", "1")

    assert status == 0
    assert "organizer1@demo.example" in out and PASSWORDS[Role.ORGANIZER] in out
    assert "attendee9@demo.example" in out and PASSWORDS[Role.ATTENDEE] in out

    async def role_of(container: Container) -> Role:
        command = SignInCommand(email="organizer1@demo.example", password=PASSWORDS[Role.ORGANIZER])
        pair = await container.sign_in().execute(command)
        return (await container.identify_caller().execute(pair.access_token)).role

    assert with_container(role_of) is Role.ORGANIZER


def test_seed_demo_reuses_the_demo_accounts_of_an_earlier_run(
    cli: Cli,
) -> None:
    assert cli("seed-demo", "--events", "2", "--users", "10")[0] == 0

    status, out, _ = cli("seed-demo", "--events", "2", "--users", "10")

    assert status == 0
    assert "(0 new)" in out
    assert len(with_container(every_event)) == 4


def test_seed_demo_refuses_to_run_in_production(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTAPI_ENV", "production")
    monkeypatch.setenv("EVENTAPI_SECRET_KEY", "k" * 48)

    status, _, err = cli("seed-demo", "--events", "1")

    assert status == 2
    assert "refuses to run with EVENTAPI_ENV=production" in err


# -- outbox --------------------------------------------------------------------------------


def test_outbox_lists_the_queued_messages_newest_first(cli: Cli) -> None:
    for email in ("first@example.org", "second@example.org"):
        assert cli("create-admin", "--email", email, stdin=ADMIN_PASSWORD)[0] == 0

    status, out, _ = cli("outbox")

    assert status == 0
    assert "The worker delivers them" in out
    rows = [line for line in out.splitlines() if " welcome " in line]
    assert [row.split()[-2] for row in rows] == ["second@example.org", "first@example.org"]
    assert [row.split()[0] for row in rows] == ["2", "1"]  # the ids --retry takes
    assert all(" pending " in row for row in rows)
    assert out.rstrip().endswith("2 of 2 messages")


def test_outbox_of_a_new_database_is_empty(cli: Cli) -> None:
    status, out, _ = cli("outbox", "--limit", "5")

    assert status == 0
    assert "The outbox is empty." in out


async def dead_letter_everything_due(container: Container, error: str) -> list[int]:
    """What the worker does with a message the relay refuses for good, through the
    SQL adapter: claim it (one attempt), then dead-letter it."""
    queue, now = container.outbox_queue(), container.clock().now()
    claimed = await queue.claim(limit=100, now=now, lease=timedelta(minutes=5), max_attempts=10)
    for each in claimed:
        assert await queue.dead_letter(each, error=error)
    return [each.row_id for each in claimed]


def test_outbox_failed_lists_the_dead_letters_and_retry_all_revives_them(
    cli: Cli, fresh_directory: Path
) -> None:
    assert cli("create-admin", "--email", "root@example.org", stdin=ADMIN_PASSWORD)[0] == 0
    refusal = "550 5.1.1 <root@example.org>:\n  mailbox unavailable"
    assert with_container(lambda c: dead_letter_everything_due(c, refusal)) == [1]

    status, out, _ = cli("outbox", "--failed")

    assert status == 0
    (row,) = [line for line in out.splitlines() if " welcome " in line]
    assert row.split()[:1] + row.split()[3:5] == ["1", "1", "welcome"]  # id, attempts, kind
    # The last error, on one line.
    assert row.endswith("  root@example.org  550 5.1.1 <root@example.org>: mailbox unavailable")
    assert out.rstrip().endswith("1 dead-lettered message")
    assert " failed (1x) " in cli("outbox")[1]

    status, out, _ = cli("outbox", "--retry-all")

    assert (status, out) == (0, "Revived 1 dead-lettered message; the worker sends them next.\n")
    assert "No notification is dead-lettered." in cli("outbox", "--failed")[1]
    assert cli("worker", "--once")[0] == 0
    (mail,) = (fresh_directory / "data" / "mail").glob("*.eml")
    assert read_message(mail)["To"].addresses[0].addr_spec == "root@example.org"


def test_outbox_retry_revives_only_the_rows_named(cli: Cli) -> None:
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        assert cli("create-admin", "--email", email, stdin=ADMIN_PASSWORD)[0] == 0
    with_container(lambda c: dead_letter_everything_due(c, "421 try later, ten times over"))

    status, out, _ = cli("outbox", "--retry", "3", "1", "99")

    assert status == 0
    assert out == (
        "Revived 2 of the 3 messages named (1 is not dead-lettered); the worker sends them next.\n"
    )
    listed = cli("outbox", "--failed")[1]
    assert [line.split()[0] for line in listed.splitlines() if " welcome " in line] == ["2"]
    assert cli("outbox", "--retry", "3")[1] == (
        "Revived 0 of the 1 message named (1 is not dead-lettered).\n"
    )


def test_outbox_options_exclude_each_other(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("outbox", "--failed", "--retry-all")

    assert exited.value.code == 2


def test_outbox_failed_pages_through_more_than_the_limit(cli: Cli) -> None:
    for n in range(4):
        assert cli("create-admin", "--email", f"{n}@example.org", stdin=ADMIN_PASSWORD)[0] == 0
    with_container(lambda c: dead_letter_everything_due(c, "550 no such user"))

    status, out, _ = cli("outbox", "--failed", "--limit", "3")

    assert status == 0
    assert [line.split()[0] for line in out.splitlines() if " welcome " in line] == ["1", "2", "3"]
    assert "The first 3 dead-lettered messages; more follow (raise --limit)." in out


# -- audit ---------------------------------------------------------------------------------

ADDRESS = "203.0.113.9"


def audited_changes() -> tuple[str, str]:
    """An admin (made by `create-admin`) promotes an account from ADDRESS; two
    sign-ins fail, one with an unknown address. Returns (admin id, promoted id)."""

    async def work(container: Container) -> tuple[str, str]:
        admins = await container.user_queries().search(UserCriteria(role=Role.ADMIN), PageRequest())
        admin_id = admins.items[0].id
        command = SignUpCommand(
            email="person@example.org", password=ADMIN_PASSWORD, full_name="Pat Person"
        )
        person = await container.sign_up().open_account(command, Role.ATTENDEE)
        sign_in = container.sign_in()
        for email in ("admin@example.org", "nobody@example.org"):
            with pytest.raises(InvalidCredentials):
                await sign_in.execute(SignInCommand(email=email, password="not it at all"))
        with ACTORS.acting(Actor(user_id=admin_id, ip=ADDRESS)):
            await container.update_user().execute(
                UpdateUserCommand(
                    actor=Principal(user_id=admin_id, role=Role.ADMIN),
                    user_id=person.id,
                    role=Role.ORGANIZER,
                )
            )
        return str(admin_id), str(person.id)

    return with_container(work)


def test_audit_prints_who_did_what_from_where_newest_first(cli: Cli) -> None:
    assert cli("create-admin", "--email", "admin@example.org", stdin=ADMIN_PASSWORD)[0] == 0
    admin_id, person_id = audited_changes()

    status, out, _ = cli("audit")

    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[2:] == [
        "user.role_changed",
        "user",
        person_id,
        "by",
        admin_id,
        "from",
        ADDRESS,
        "from=attendee",
        "to=organizer",
    ]
    assert "auth.sign_in_failed  -  by nobody signed in" in lines[1]
    assert "reason=unknown_account" in lines[1]
    assert f"user {admin_id}" in lines[2] and "reason=wrong_password" in lines[2]
    for secret in ("not it at all", ADMIN_PASSWORD, "nobody@example.org", "Pat Person"):
        assert secret not in out


def test_audit_filters_limits_and_prints_json(cli: Cli) -> None:
    assert cli("create-admin", "--email", "admin@example.org", stdin=ADMIN_PASSWORD)[0] == 0
    admin_id, person_id = audited_changes()

    status, out, _ = cli("audit", "--json", "--action", "auth.sign_in_failed", "--limit", "1")
    assert status == 0
    [line] = out.splitlines()
    entry = json.loads(line)
    assert set(entry) == {
        "id",
        "at",
        "actor_id",
        "action",
        "subject_type",
        "subject_id",
        "ip",
        "details",
    }
    assert (entry["action"], entry["subject_id"], entry["ip"]) == (
        "auth.sign_in_failed",
        None,
        None,
    )

    mine = cli("audit", "--json", "--actor", admin_id)[1].splitlines()
    assert [json.loads(line)["subject_id"] for line in mine] == [person_id]
    about_admin = cli("audit", "--subject", admin_id, "--since", "2000-01-01")[1]
    assert "reason=wrong_password" in about_admin and "role_changed" not in about_admin
    assert cli("audit", "--until", "2000-01-01")[1] == "No audit entry matches.\n"

    limited = cli("audit", "--limit", "2")[1]
    assert "The newest 2 entries; older ones follow (raise --limit)." in limited


def test_audit_refuses_bad_filters(cli: Cli) -> None:
    for args in (["--since", "yesterday"], ["--actor", "42"], ["--limit", "0"]):
        with pytest.raises(SystemExit) as exited:
            cli("audit", *args)
        assert exited.value.code == 2
    status, _, err = cli("audit", "--since", "2030-01-02", "--until", "2030-01-01")
    assert status == 2
    assert "until must be later than since" in err


# -- worker --------------------------------------------------------------------------------


def test_worker_once_delivers_the_queue_to_the_local_mail_sink(
    cli: Cli, fresh_directory: Path
) -> None:
    for email in ("first@example.org", "second@example.org"):
        assert cli("create-admin", "--email", email, stdin=ADMIN_PASSWORD)[0] == 0

    status, out, err = cli("worker", "--once")

    assert status == 0
    # Its records go to stderr, as JSON lines (stderr is no terminal here).
    records = [json.loads(line) for line in err.splitlines()]
    batches = [record for record in records if record.get("event") == "outbox.batch"]
    assert sum(record["sent"] for record in batches) == 2
    assert "mail to data/mail" in out
    assert out.rstrip().endswith("stopped (nothing is due)")
    mails = [read_message(path) for path in (fresh_directory / "data" / "mail").glob("*.eml")]
    assert sorted(mail["To"].addresses[0].addr_spec for mail in mails) == [
        "first@example.org",
        "second@example.org",
    ]
    assert {mail["Subject"] for mail in mails} == {"Welcome to eventapi"}
    listed = cli("outbox")[1]
    assert len([line for line in listed.splitlines() if " sent (1x) " in line]) == 2
    # Nothing is due any more: another run sends nothing twice.
    assert cli("worker", "--once", "--no-geocoding")[0] == 0
    assert len(list((fresh_directory / "data" / "mail").glob("*.eml"))) == 2


def test_worker_refuses_a_bad_smtp_url_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, fresh_directory: Path
) -> None:
    monkeypatch.setenv("EVENTAPI_SMTP_URL", "mail.example.org:25")

    status, out, err = cli("worker", "--once")

    assert (status, out) == (2, "")
    assert err.startswith("eventapi worker: error: EVENTAPI_SMTP_URL: ")
    assert err.count("\n") == 1
    assert not (fresh_directory / "data" / "eventapi.db").exists()  # refused before any work


def test_worker_poll_interval_is_checked(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("worker", "--poll-interval", "0")

    assert exited.value.code == 2
    assert "must be between 0.01 and 3600 seconds" in capsys.readouterr().err


async def test_worker_stops_gracefully_on_sigterm(fresh_directory: Path) -> None:
    """A real process, as a process manager runs it: ready, SIGTERM, exit status 0."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "entrypoints.cli",
        "worker",
        "--poll-interval",
        "0.05",
        cwd=fresh_directory,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        async with asyncio.timeout(SUBPROCESS_SECONDS):
            # Printed once the signal handlers are in place.
            ready = await worker.stdout.readline()
        assert ready.startswith(b"eventapi worker: delivering"), ready
        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(SUBPROCESS_SECONDS):
            out, err = await worker.communicate()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == 0, err.decode()
    assert out.decode().rstrip().endswith("eventapi worker: stopped")
    assert b"Traceback" not in err


# -- errors --------------------------------------------------------------------------------


def test_bad_configuration_is_one_line_and_status_2(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTAPI_ENV", "production")  # and no secret key

    status, out, err = cli("migrate")

    assert (status, out) == (2, "")
    assert err.startswith("eventapi migrate: error: EVENTAPI_SECRET_KEY is required in production")
    assert err.count("\n") == 1


def test_an_unreachable_database_is_a_clean_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    monkeypatch.setenv("EVENTAPI_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")

    status, _, err = cli("outbox")

    assert status == 2
    assert err.startswith("eventapi outbox: error: ")
    assert "Traceback" not in err


def test_no_command_shows_the_commands(cli: Cli) -> None:
    status, _, err = cli()

    assert status == 2
    for name in ("serve", "migrate", "create-admin", "seed-demo", "openapi", "outbox", "worker"):
        assert name in err


def test_the_progress_bar_writes_a_line_per_tenth_outside_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar("events", 20, stream)
    for _ in range(20):
        bar.advance()
    bar.close()

    lines = stream.getvalue().splitlines()
    assert lines[0] == "events [------------------------------] 0/20 (0%)"
    assert lines[-1] == "events [##############################] 20/20 (100%)"
    assert len(lines) == 11
