"""Two real `eventapi worker` processes on PostgreSQL deliver every webhook exactly
once: N registrations fan out to an endpoint on a loopback receiver, both workers
claim from the same outbox, and each delivery arrives once, signed (verified by
the `standardwebhooks` reference library), with its own stable webhook-id."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook as Verifier

from adapters.memory.fakes import FixedClock
from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.uuid7 import Uuid7Generator
from application.ports.notifications import NotificationKind
from application.principal import Principal
from application.use_cases.manage_webhooks import CreateWebhook, CreateWebhookCommand, UrlRules
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from domain.users import Role
from tests.builders import a_user, an_event
from tests.security.processes import EVENTAPI, Process, clean_environment
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.postgres

DELIVERIES = 60


def launch(name: str, env: dict[str, str], workdir: Path) -> Process:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [*EVENTAPI, "worker", "--poll-interval", "0.05"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(name, process, log, 0)


async def test_two_worker_processes_deliver_every_webhook_exactly_once(
    postgres_engine: AsyncEngine,
    postgres_url: str,
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    uow = SqlUnitOfWorkFactory(postgres_engine)
    organizer = a_user(role=Role.ORGANIZER)
    people = [a_user() for _ in range(DELIVERIES)]
    event = an_event(organizer, capacity=DELIVERIES, starts_at=clock.now() + timedelta(days=7))
    async with uow() as work:
        for person in (organizer, *people):
            await work.users.add(person)
        await work.events.add(event)
        await work.commit()
    hook = await CreateWebhook(
        uow, clock, Uuid7Generator(), UrlRules(allow_http=True, allow_private=True)
    ).execute(
        CreateWebhookCommand(
            actor=Principal(user_id=organizer.id, role=Role.ORGANIZER),
            url=webhook_receiver.url_for("/both"),
            event_types=["registration.confirmed"],
        )
    )
    register = RegisterForEvent(uow, clock, Uuid7Generator())
    for person in people:
        await register.execute(
            RegisterForEventCommand(
                actor=Principal(user_id=person.id, role=Role.ATTENDEE), event_id=event.id
            )
        )
    async with postgres_engine.connect() as connection:
        queued = await connection.scalar(
            select(func.count()).where(outbox.c.kind == NotificationKind.WEBHOOK.value)
        )
    assert queued == DELIVERIES

    env = clean_environment(
        ENV="test",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=postgres_url,
        DATA_DIR=str(tmp_path / "data"),  # the confirmation mails go to .eml files
        GEOCODER="off",
        WEBHOOK_ALLOW_HTTP="on",
        WEBHOOK_ALLOW_PRIVATE="on",
    )
    workers = [launch(f"worker-{n}", env, tmp_path) for n in (1, 2)]
    try:
        received = await webhook_receiver.arrivals(DELIVERIES, path="/both", within=120)
        for worker in workers:
            worker.check_running()
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.stop)  # SIGTERM: each finishes its batch

    requests = webhook_receiver.requests_to("/both")
    assert len(requests) == DELIVERIES, "no delivery arrived twice"
    ids = Counter(request.headers["webhook-id"] for request in requests)
    assert len(ids) == DELIVERIES and set(ids.values()) == {1}
    verifier = Verifier(hook.secret)
    users = set()
    for request in received:
        payload = verifier.verify(request.body, request.headers)
        assert payload["type"] == "registration.confirmed"
        users.add(payload["data"]["user"]["id"])
    assert users == {str(person.id) for person in people}
    async with postgres_engine.connect() as connection:
        statuses: dict[str, int] = dict(
            (
                await connection.execute(
                    select(outbox.c.status, func.count())
                    .where(outbox.c.kind == NotificationKind.WEBHOOK.value)
                    .group_by(outbox.c.status)
                )
            ).all()
        )
    assert statuses == {"sent": DELIVERIES}
