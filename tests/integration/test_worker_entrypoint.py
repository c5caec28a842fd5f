"""run_worker with the container, as `eventapi worker` and the embedded app run it:
mail to a real relay or to the local sink, geocoding when configured, and a
graceful stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from dependency_injector import providers
from sqlalchemy import func, select

from adapters.mail.sink import MailSink
from adapters.mail.smtp import SmtpNotifier
from adapters.memory.fakes import FixedClock
from adapters.sql.migrate import upgrade_database
from adapters.sql.outbox import SqlOutboxReader
from adapters.sql.tables import sessions
from application.event_input import LocationInput, WindowInput
from application.principal import Principal
from application.use_cases.create_event import CreateEventCommand
from application.use_cases.deliver_notifications import BatchReport
from application.use_cases.purge_expired_records import PurgeExpiredRecords
from application.use_cases.sign_in import SignInCommand
from application.use_cases.sign_up import SignUpCommand
from domain.event import EventStatus
from domain.users import Role
from domain.values import Coordinates
from entrypoints.container import Container, build_container, close_resources
from entrypoints.settings import ConfigurationError, Settings
from entrypoints.worker import BackgroundWorker, run_worker
from tests.geocoding_server import NOMINATIM_PATH, GeocodingServer, nominatim_place
from tests.mail_server import MailServer

PASSWORD = "violet-harbour-7-lanterns"


def settings_for(tmp_path: Path, **variables: str) -> Settings:
    return Settings.from_environment(
        {
            "EVENTAPI_ENV": "test",
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'eventapi.db'}",
            "EVENTAPI_SECRET_KEY": "k" * 32,
            "EVENTAPI_BCRYPT_ROUNDS": "4",
            "EVENTAPI_PUBLIC_URL": "http://api.test",
            **variables,
        }
    )


@pytest.fixture
def service() -> Iterator[GeocodingServer]:
    server = GeocodingServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def migrated(settings: Settings) -> Container:
    container = build_container(settings)
    await upgrade_database(container.engine())
    return container


async def sign_up(container: Container, name: str = "Grace Hopper") -> str:
    email = f"{uuid4().hex[:12]}@example.org"
    await container.sign_up().execute(SignUpCommand(email=email, password=PASSWORD, full_name=name))
    return email


async def test_the_worker_mails_through_the_configured_relay_until_idle(
    tmp_path: Path, relay: MailServer
) -> None:
    container = await migrated(settings_for(tmp_path, EVENTAPI_SMTP_URL=relay.url))
    try:
        assert isinstance(container.notifier(), SmtpNotifier)
        email = await sign_up(container)
        await run_worker(container, stop=asyncio.Event(), until_idle=True)
    finally:
        await close_resources(container)
    (welcome,) = await relay.wait_for(1)
    assert welcome.recipients == (email,)
    assert welcome.message["Subject"] == "Welcome to eventapi"


async def test_the_embedded_default_keeps_mail_in_the_data_directory(tmp_path: Path) -> None:
    container = await migrated(settings_for(tmp_path))
    try:
        sink = container.notifier()
        assert isinstance(sink, MailSink)
        await sign_up(container)
        await sign_up(container, "Ada Lovelace")
        await run_worker(container, stop=asyncio.Event(), until_idle=True)
    finally:
        await close_resources(container)
    assert sink.directory == tmp_path / "mail"
    assert sorted(m.subject for m in sink.messages()) == ["Welcome to eventapi"] * 2


async def test_stopping_finishes_the_batch_in_hand_and_returns(
    tmp_path: Path, relay: MailServer
) -> None:
    container = await migrated(settings_for(tmp_path, EVENTAPI_SMTP_URL=relay.url))
    stop = asyncio.Event()
    try:
        worker = asyncio.create_task(run_worker(container, stop=stop, poll_interval=0.02))
        await sign_up(container)
        await relay.wait_for(1)
        await sign_up(container, "Ada Lovelace")
        await relay.wait_for(2)
        stop.set()
        async with asyncio.timeout(10):
            await worker
    finally:
        await close_resources(container)
    assert len(relay.received) == 2


async def test_the_worker_geocodes_when_a_geocoder_is_configured(
    tmp_path: Path, service: GeocodingServer
) -> None:
    service.answers[NOMINATIM_PATH] = nominatim_place(52.5129982, 13.4200658)
    settings = settings_for(
        tmp_path, EVENTAPI_GEOCODER="nominatim", EVENTAPI_GEOCODER_URL=service.url
    )
    container = await migrated(settings)
    try:
        organizer = await container.sign_up().open_account(
            SignUpCommand(email="olga@example.org", password=PASSWORD, full_name="Olga"),
            Role.ORGANIZER,
        )
        starts_at = container.clock().now().replace(microsecond=0)
        created = await container.create_event().execute(
            CreateEventCommand(
                actor=Principal(user_id=organizer.id, role=Role.ORGANIZER),
                title="Hack night",
                window=WindowInput(
                    starts_at=starts_at.replace(year=starts_at.year + 1),
                    ends_at=starts_at.replace(year=starts_at.year + 1, hour=23, minute=59),
                ),
                capacity=5,
                location=LocationInput(address="Rungestraße 20", city="Berlin", country="DE"),
                status=EventStatus.PUBLISHED,
            )
        )
        await run_worker(container, stop=asyncio.Event(), until_idle=True)
        located = await container.event_queries().get(created.id)
    finally:
        await close_resources(container)
    assert located is not None
    assert located.location.coordinates == Coordinates(52.5129982, 13.4200658)
    (request,) = service.requests_to(NOMINATIM_PATH)
    assert request.headers["User-Agent"].startswith("eventapi/")
    assert "noreply@eventapi.invalid" in request.headers["User-Agent"]


async def test_the_worker_purges_old_mail_and_expired_sessions_in_batches(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    container = await migrated(settings_for(tmp_path, EVENTAPI_OUTBOX_RETENTION="30"))
    clock = FixedClock(datetime.now(UTC))
    container.clock.override(clock)
    # Batches of one, so purging three rows takes the loop several rounds.
    container.purge_expired_records.override(
        providers.Factory(
            PurgeExpiredRecords,
            container.expired_records,
            container.clock,
            retention=timedelta(days=30),
            batch_size=1,
        )
    )
    caplog.set_level(logging.INFO, logger="eventapi.worker")
    try:
        emails = [await sign_up(container, name) for name in ("Ada", "Grace", "Edsger")]
        await container.sign_in().execute(SignInCommand(email=emails[0], password=PASSWORD))
        await run_worker(container, stop=asyncio.Event(), until_idle=True)  # mails the welcomes
        reader = SqlOutboxReader(container.engine())
        assert (await reader.newest(10)).total == 3  # sent, and kept for now

        clock.advance(timedelta(days=29))
        await run_worker(container, stop=asyncio.Event(), until_idle=True)
        assert (await reader.newest(10)).total == 3
        # Only the sign-ups' verification tokens (48 hours) have expired by now.
        early = [r for r in caplog.records if getattr(r, "event", "") == "housekeeping.purge"]
        assert sum(getattr(r, "outbox_rows", 0) + getattr(r, "sessions", 0) for r in early) == 0
        assert sum(getattr(r, "account_tokens", 0) for r in early) == 3

        clock.advance(timedelta(days=1, seconds=1))  # 30 days: the mail and the session are old
        await run_worker(container, stop=asyncio.Event(), until_idle=True)
        assert (await reader.newest(10)).total == 0
        async with container.engine().connect() as connection:
            assert (
                await connection.execute(select(func.count()).select_from(sessions))
            ).scalar() == 0
    finally:
        await close_resources(container)
    purges = [r for r in caplog.records if getattr(r, "event", "") == "housekeeping.purge"]
    assert sum(getattr(r, "outbox_rows", 0) for r in purges) == 3
    assert sum(getattr(r, "sessions", 0) for r in purges) == 1
    assert len(purges) >= 3  # one batch of one row at a time


def test_geocoding_settings_are_checked_at_start() -> None:
    env = {"EVENTAPI_ENV": "test", "EVENTAPI_SECRET_KEY": "s" * 40}
    assert Settings.from_environment(env).geocoder.provider == "off"
    chosen = Settings.from_environment(
        {
            **env,
            "EVENTAPI_GEOCODER": "Google",
            "EVENTAPI_GEOCODER_KEY": "abc",
            "EVENTAPI_GEOCODER_URL": "http://127.0.0.1:9/",
        }
    )
    assert (chosen.geocoder.provider, chosen.geocoder.key, chosen.geocoder.url) == (
        "google",
        "abc",
        "http://127.0.0.1:9",
    )
    for bad in (
        {"EVENTAPI_GEOCODER": "bing"},
        {"EVENTAPI_GEOCODER": "google"},
        {"EVENTAPI_GEOCODER": "nominatim", "EVENTAPI_GEOCODER_URL": "ftp://x"},
    ):
        with pytest.raises(ConfigurationError, match="GEOCODER"):
            Settings.from_environment({**env, **bad})


def test_a_bad_smtp_url_stops_the_worker_at_start(tmp_path: Path) -> None:
    container = build_container(settings_for(tmp_path, EVENTAPI_SMTP_URL="mail.example.org:25"))
    with pytest.raises(ConfigurationError, match="EVENTAPI_SMTP_URL"):
        container.notifier()


class StuckDelivery:
    """A batch that never finishes (a relay that accepts and never answers)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.cancelled = False

    async def execute(self) -> BatchReport:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return BatchReport()


async def test_the_in_process_worker_is_cancelled_when_its_batch_outlasts_the_grace(
    tmp_path: Path,
) -> None:
    container = build_container(settings_for(tmp_path))
    stuck = StuckDelivery()
    container.deliver_notifications.override(providers.Object(stuck))
    worker = BackgroundWorker.start(container, poll_interval=0.01)
    try:
        async with asyncio.timeout(10):
            await stuck.entered.wait()
            await worker.stop(grace_seconds=0.05)
    finally:
        await close_resources(container)
    assert stuck.cancelled


async def test_a_bad_smtp_url_stops_the_in_process_worker_before_it_starts(
    tmp_path: Path,
) -> None:
    container = build_container(settings_for(tmp_path, EVENTAPI_SMTP_URL="smtp:/nohost"))
    with pytest.raises(ConfigurationError, match="EVENTAPI_SMTP_URL"):
        BackgroundWorker.start(container)
