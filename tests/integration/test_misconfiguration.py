"""Every misconfiguration stops a command with one line on stderr and exit status 2.

Each row runs the real `eventapi` command line as a subprocess, in an empty
folder with no EVENTAPI_* variable but the row's: the line names the variable
(or the option) and what to do, nothing is printed on stdout (no banner), and
there is no traceback. The database rows run across the commands that use the
database; a Redis or SMTP URL is checked only by the commands that use it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.security.processes import clean_environment
from tests.services import LOOPBACK, free_port

EVENTAPI = (sys.executable, "-m", "entrypoints.cli")
COMMAND_SECONDS = 120
#: The rows run a few at a time: each is mostly interpreter start-up.
PARALLEL = 4

ARGUMENTS = {
    "serve": ["serve", "--port", "{port}"],
    "migrate": ["migrate"],
    "worker": ["worker", "--once"],
    "create-admin": ["create-admin", "--email", "admin@example.org", "--password", "x" * 20],
    "outbox": ["outbox"],
    "seed-demo": ["seed-demo", "--events", "1"],
}


@dataclass(frozen=True)
class Row:
    case: str
    command: str
    env: dict[str, str]
    #: Every fragment must appear in the one line on stderr.
    says: tuple[str, ...]
    port: int = field(default_factory=free_port)


@dataclass(frozen=True)
class Outcome:
    status: int
    stdout: str
    stderr: str


def table(postgres_url: str) -> list[Row]:
    server = make_url(postgres_url)
    host, port, user = server.host, server.port or 5432, server.username or "postgres"
    missing = server.set(drivername="postgresql", database="eventapi_nonesuch")
    stranger = server.set(drivername="postgresql", username="eventapi_nobody", password=None)
    refused = f"postgresql://{user}@{LOOPBACK}:{free_port()}/eventapi"
    database = "EVENTAPI_DATABASE_URL"
    rows = [
        # The database is missing, in every command that uses one.
        *(
            Row(
                "database missing",
                command,
                {"DATABASE_URL": missing.render_as_string(hide_password=False)},
                (database, '"eventapi_nonesuch" does not exist', "createdb", f"-h {host}"),
            )
            for command in ARGUMENTS
        ),
        Row("unreachable", "migrate", {"DATABASE_URL": refused}, (database, "cannot reach")),
        Row("unreachable", "worker", {"DATABASE_URL": refused}, (database, "start it")),
        Row(
            "wrong credentials",
            "migrate",
            {"DATABASE_URL": stranger.render_as_string(hide_password=False)},
            (database, "refused the user name or password", "eventapi_nobody"),
        ),
        Row(
            "wrong credentials",
            "create-admin",
            {"DATABASE_URL": stranger.render_as_string(hide_password=False)},
            (database, "fix the credentials"),
        ),
        Row(
            "raw @ in the password",
            "migrate",
            {"DATABASE_URL": f"postgresql://{user}:p@ss@{host}:{port}/eventapi"},
            (database, 'raw "@"', "%40"),
        ),
        Row(
            "raw @ in the password",
            "outbox",
            {"DATABASE_URL": f"postgresql://{user}:p@ss@{host}:{port}/eventapi"},
            (database, "%40"),
        ),
        Row(
            "port not a number",
            "seed-demo",
            {"DATABASE_URL": f"postgresql://{user}@{host}:five/eventapi"},
            (database, "port", "host:5432"),
        ),
        Row(
            "sqlite://relative.db",
            "serve",
            {"DATABASE_URL": "sqlite://relative.db"},
            (database, "sqlite:///relative.db"),
        ),
        Row(
            "SQLite folder missing",
            "migrate",
            {"DATABASE_URL": "sqlite:///no/such/folder/eventapi.db"},
            (database, "cannot open", "create its folder"),
        ),
        Row(
            "Redis URL malformed",
            "serve",
            {"REDIS_URL": "http://127.0.0.1:6379"},
            ("EVENTAPI_REDIS_URL", "redis://"),
        ),
        Row(
            "Redis port not a number",
            "serve",
            {"REDIS_URL": "redis://127.0.0.1:six/0"},
            ("EVENTAPI_REDIS_URL", "redis://"),
        ),
        Row(
            "Redis database not a number",
            "serve",
            {"REDIS_URL": "redis://127.0.0.1:6379/fifteen"},
            ("EVENTAPI_REDIS_URL", "must be a number"),
        ),
        Row(
            "SMTP URL malformed",
            "worker",
            {"SMTP_URL": "mail.example.org:25"},
            ("EVENTAPI_SMTP_URL", "smtp://"),
        ),
        Row(
            "SMTP URL malformed",
            "serve",
            {"SMTP_URL": "smtp://relay:twenty-five"},
            ("EVENTAPI_SMTP_URL", "port"),
        ),
        Row(
            "unknown starttls",
            "worker",
            {"SMTP_URL": "smtp://relay:587?starttls=required"},
            ("EVENTAPI_SMTP_URL", "starttls must be on or off"),
        ),
        Row(
            "unknown starttls",
            "serve",
            {"SMTP_URL": "smtp://relay:587?starttls=maybe"},
            ("EVENTAPI_SMTP_URL", "starttls must be on or off"),
        ),
        Row(
            "reminder time in words",
            "worker",
            {"REMINDER_BEFORE": "90 minutes"},
            ("EVENTAPI_REMINDER_BEFORE", "s, m, h or d", "90m"),
        ),
        Row(
            "no reminder time",
            "serve",
            {"REMINDER_BEFORE": "0h"},
            ("EVENTAPI_REMINDER_BEFORE", "more than 0"),
        ),
    ]
    return rows


def run(row: Row, workdir: Path) -> Outcome:
    workdir.mkdir()
    arguments = [part.format(port=row.port) for part in ARGUMENTS[row.command]]
    env = clean_environment(BCRYPT_ROUNDS="4", **row.env)
    done = subprocess.run(  # noqa: S603 - our own CLI
        [*EVENTAPI, *arguments],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def assert_one_line_exit_2(row: Row, outcome: Outcome) -> None:
    where = f"{row.case} ({row.command})"
    assert outcome.status == 2, f"{where}: exit {outcome.status}\n{outcome.stderr}"
    assert "Traceback" not in outcome.stderr, f"{where}:\n{outcome.stderr}"
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, f"{where}: {len(lines)} lines on stderr:\n{outcome.stderr}"
    assert lines[0].startswith(f"eventapi {row.command}: error: "), f"{where}: {lines[0]}"
    for fragment in row.says:
        assert fragment in lines[0], f"{where}: {fragment!r} not in: {lines[0]}"
    assert outcome.stdout == "", f"{where}: printed {outcome.stdout!r} before failing"


@pytest.mark.postgres
def test_every_misconfiguration_is_one_line_and_exit_2(postgres_url: str, tmp_path: Path) -> None:
    rows = table(postgres_url)
    with ThreadPoolExecutor(PARALLEL) as pool:
        ran = pool.map(lambda i: run(rows[i], tmp_path / str(i)), range(len(rows)))
        outcomes = list(zip(rows, ran, strict=True))
    failures = []
    for row, outcome in outcomes:
        try:
            assert_one_line_exit_2(row, outcome)
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "\n\n".join(failures)
    assert {row.command for row, _ in outcomes} == set(ARGUMENTS)


def test_serve_refuses_a_port_in_use_before_migrating(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        row = Row(
            "port in use",
            "serve",
            {"DATA_DIR": str(tmp_path / "data")},
            ("--port", "already listens", "choose another --port"),
            port=taken.getsockname()[1],
        )
        outcome = run(row, tmp_path / "serve")
    assert_one_line_exit_2(row, outcome)
    assert not (tmp_path / "data" / "eventapi.db").exists(), "serve migrated before the port"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("REDIS_URL", "http://not-redis"), ("SMTP_URL", "smtp://relay?starttls=maybe")],
)
def test_a_url_is_checked_only_by_the_commands_that_use_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    """`migrate` uses neither Redis nor mail: a bad URL for them does not stop it."""
    env = clean_environment(**{variable: value, "INPROCESS_WORKER": "off"})
    done = subprocess.run(  # noqa: S603 - our own CLI
        [*EVENTAPI, "migrate"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("The database schema is at revision")
