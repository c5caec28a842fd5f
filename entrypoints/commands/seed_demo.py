"""`eventapi seed-demo`: demo organizers, attendees and events to try search with.

The aggregates decide every seat and status (see demo_events.py), so the data
obeys the same rules as data made through the API; accounts are added through
the unit of work, events and registrations in batches by the SQL bulk loader,
so that 10,000 events take seconds, not minutes.
Every demo account of one role shares one password, hashed once; demo data
queues no notifications, since demo accounts have no mailboxes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO
from uuid import UUID

from adapters.sql.bulk_load import SqlBulkLoader
from domain.registration import RegistrationStatus
from domain.users import Role, User
from domain.values import EmailAddress
from entrypoints.commands import CommandError
from entrypoints.commands.database import require_schema
from entrypoints.commands.demo_catalogue import FIRST_NAMES, LAST_NAMES
from entrypoints.commands.demo_events import DemoEventPlanner, PlannedEvent
from entrypoints.commands.progress import ProgressBar
from entrypoints.container import Container

DEMO_DOMAIN = "demo.example"  # RFC 2606: never a real mailbox
PASSWORDS = {Role.ORGANIZER: "plan-demo-events-2030", Role.ATTENDEE: "join-demo-events-2030"}
EVENTS_PER_TRANSACTION = 200
USERS_PER_TRANSACTION = 500


@dataclass(slots=True)
class SeedReport:
    organizers: list[str] = field(default_factory=list)
    attendees: list[str] = field(default_factory=list)
    users_created: int = 0
    events: Counter[str] = field(default_factory=Counter)
    registrations: Counter[str] = field(default_factory=Counter)


def default_user_count(events: int) -> int:
    return max(10, min(2000, events // 10))


async def seed_demo(
    container: Container, *, events: int, users: int, seed: int | None, progress: TextIO
) -> SeedReport:
    if container.settings().is_production:
        raise CommandError("seed-demo refuses to run with EVENTAPI_ENV=production")
    await require_schema(container)
    report = SeedReport()
    now = container.clock().now()
    organizer_count = max(1, users // 10)
    organizers = await _accounts(container, Role.ORGANIZER, organizer_count, report, now)
    attendees = await _accounts(container, Role.ATTENDEE, users - organizer_count, report, now)
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    planner = DemoEventPlanner(rng, container.sanitizer(), container.ids().new_id)
    bar = ProgressBar("events", events, progress)
    try:
        for start in range(0, events, EVENTS_PER_TRANSACTION):
            count = min(EVENTS_PER_TRANSACTION, events - start)
            batch = [planner.plan(rng.choice(organizers), attendees, now) for _ in range(count)]
            await _store(container, batch, report)
            bar.advance(count)
    finally:
        bar.close()
    return report


async def _accounts(
    container: Container, role: Role, count: int, report: SeedReport, now: datetime
) -> list[UUID]:
    """`count` demo accounts of `role`; ones left by an earlier run are reused as they are."""
    emails = [EmailAddress(f"{role.value}{n}@{DEMO_DOMAIN}") for n in range(1, count + 1)]
    (report.organizers if role is Role.ORGANIZER else report.attendees).extend(map(str, emails))
    ids: dict[EmailAddress, UUID] = {}
    async with container.uow()() as uow:
        for email in emails:
            user = await uow.users.get_by_email(email)
            if user is None:
                continue
            if not user.is_active or not user.role.at_least(role):
                raise CommandError(f"{email} exists but is no longer an active {role.value}")
            ids[email] = user.id
    missing = [email for email in emails if email not in ids]
    if missing:
        password = PASSWORDS[role]
        common = password in container.common_passwords()
        container.password_policy().check(password, is_common=common)
        password_hash = await container.hasher().hash(password)  # once for all of them
        rng = random.Random(str(role))  # noqa: S311 - names only
        for start in range(0, len(missing), USERS_PER_TRANSACTION):
            async with container.uow()() as uow:
                for email in missing[start : start + USERS_PER_TRANSACTION]:
                    user = User(
                        id=container.ids().new_id(),
                        email=email,
                        full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                        role=role,
                        password_hash=password_hash,
                        is_active=True,
                        created_at=now,
                        updated_at=now,
                    )
                    await uow.users.add(user)
                    ids[email] = user.id
                await uow.commit()
        report.users_created += len(missing)
    return [ids[email] for email in emails]


async def _store(container: Container, batch: list[PlannedEvent], report: SeedReport) -> None:
    registrations = [registration for planned in batch for registration in planned.registrations]
    await SqlBulkLoader(container.engine()).add_events([p.event for p in batch], registrations)
    report.events.update(planned.event.status.value for planned in batch)
    report.registrations.update(registration.status.value for registration in registrations)


def print_report(report: SeedReport, out: TextIO) -> None:
    events, registrations = report.events, report.registrations
    confirmed = registrations[RegistrationStatus.CONFIRMED.value]
    waitlisted = registrations[RegistrationStatus.WAITLISTED.value]
    out.write(
        f"Seeded {events.total()} events ({events['published']} published, "
        f"{events['draft']} drafts, {events['cancelled']} cancelled) with {confirmed} confirmed "
        f"and {waitlisted} waitlisted registrations.\n"
        f"Demo accounts: {len(report.organizers)} organizers, {len(report.attendees)} attendees "
        f"({report.users_created} new).\n\n"
        "Sign in with (demo data: never on a server others can reach):\n"
        f"  organizers  {_span(report.organizers)}  password {PASSWORDS[Role.ORGANIZER]}\n"
        f"  attendees   {_span(report.attendees)}  password {PASSWORDS[Role.ATTENDEE]}\n"
    )


def _span(emails: list[str]) -> str:
    return emails[0] if len(emails) == 1 else f"{emails[0]} ... {emails[-1]}"
