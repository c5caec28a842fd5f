"""The embedded default delivers its own mail: the app's lifespan runs the worker
beside the API (EVENTAPI_INPROCESS_WORKER, `auto` = on for SQLite), writing to
the local sink in data_dir/mail, and stops it cleanly on shutdown.

The other e2e tests run without it (see `settings_for`): they compare snapshots
of every table, the outbox included.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from adapters.mail.sink import read_message
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import ConfigurationError, Settings, WorkerSettings
from entrypoints.worker import BACKGROUND_STOP_SECONDS
from tests.e2e.conftest import API, BASE_URL, PASSWORD, settings_for

MAIL_SECONDS = 15.0


def sunk(directory: Path) -> list[EmailMessage]:
    return [read_message(path) for path in sorted(directory.glob("*.eml"))]


async def wait_for_mail(directory: Path, count: int) -> list[EmailMessage]:
    """The messages the sink holds once there are `count`, polled until a deadline."""
    deadline = time.monotonic() + MAIL_SECONDS
    while len(found := await asyncio.to_thread(sunk, directory)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} messages in {directory}"
        await asyncio.sleep(0.02)  # a poll's pace, not a synchronisation
    return found


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "eventapi.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def test_registering_on_the_embedded_app_mails_a_welcome_to_the_data_dir(
    sqlite_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    # The group's own default, as EVENTAPI_INPROCESS_WORKER unset gives it.
    default = WorkerSettings().inprocess
    settings = settings_for(sqlite_url, data_dir, EVENTAPI_INPROCESS_WORKER=default)
    assert settings.runs_inprocess_worker
    app = create_app(build_container(settings))

    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        response = await client.post(
            f"{API}/auth/register",
            json={"email": "newcomer@example.org", "password": PASSWORD, "full_name": "Nia New"},
        )
        assert response.status_code == 201, response.text
        (welcome,) = await wait_for_mail(data_dir / "mail", 1)
        leaving = time.monotonic()

    # Shutdown stopped the idle worker at once, not after its grace period.
    assert time.monotonic() - leaving < BACKGROUND_STOP_SECONDS
    assert welcome["To"].addresses[0].addr_spec == "newcomer@example.org"
    assert welcome["Subject"] == "Welcome to eventapi"
    assert welcome["Message-ID"].startswith("<1.")  # the outbox row's number


def test_the_inprocess_worker_runs_by_default_only_on_sqlite() -> None:
    env = {"EVENTAPI_ENV": "test", "EVENTAPI_SECRET_KEY": "s" * 40}
    sqlite = {**env, "EVENTAPI_DATABASE_URL": "sqlite:////tmp/eventapi-unused.db"}
    postgres = {**env, "EVENTAPI_DATABASE_URL": "postgresql://u@127.0.0.1/db"}

    def runs(environment: dict[str, str], value: str | None = None) -> bool:
        if value is not None:
            environment = {**environment, "EVENTAPI_INPROCESS_WORKER": value}
        return Settings.from_environment(environment).runs_inprocess_worker

    assert (runs(sqlite), runs(postgres)) == (True, False)
    assert (runs(sqlite, "AUTO"), runs(postgres, "auto")) == (True, False)
    assert (runs(sqlite, "off"), runs(postgres, "on")) == (False, True)
    assert (runs(sqlite, "no"), runs(postgres, "1")) == (False, True)
    with pytest.raises(ConfigurationError, match="EVENTAPI_INPROCESS_WORKER must be auto"):
        runs(sqlite, "sometimes")
