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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from adapters.sql.migrate import head_revision
from application.ports.queries import EventCriteria, EventView, PageRequest, UserCriteria
from application.use_cases.sign_in import SignInCommand
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
    loggers = [logging.getLogger(name) for name in ("", "litestar")]
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
    assert "none has been sent" in out
    rows = [line for line in out.splitlines() if " welcome " in line]
    assert [row.split()[-2] for row in rows] == ["second@example.org", "first@example.org"]
    assert all(" pending " in row for row in rows)
    assert out.rstrip().endswith("2 of 2 messages")


def test_outbox_of_a_new_database_is_empty(cli: Cli) -> None:
    status, out, _ = cli("outbox", "--limit", "5")

    assert status == 0
    assert "The outbox is empty." in out


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
    for name in ("serve", "migrate", "create-admin", "seed-demo", "openapi", "outbox"):
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
