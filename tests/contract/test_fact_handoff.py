"""Every unit of work hands the facts its aggregates recorded to the outbox itself,
when they are written, and refuses to commit facts that were never written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.facts import UndrainedFacts
from application.ports.notifications import NotificationKind
from domain.event import EventStatus
from domain.registration import RegistrationStatus
from domain.users import Role, User
from domain.values import EmailAddress
from tests.builders import NOW, a_registration, a_user, an_event, new_id
from tests.contract.backends import Backend
from tests.contract.test_repositories import store

LATER = NOW + timedelta(hours=1)


async def test_a_use_case_that_records_but_never_writes_cannot_commit(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    draft = an_event(organizer, status=EventStatus.DRAFT)
    await store(backend, organizer, draft)

    with pytest.raises(UndrainedFacts, match="EventPublished"):
        async with backend.uow() as uow:
            event = await uow.events.get_for_update(draft.id)
            assert event is not None
            event.publish(LATER)  # ... and forgets `uow.events.save(event)`
            await uow.commit()

    async with backend.uow(read_only=True) as uow:
        stored = await uow.events.get(draft.id)
    assert stored is not None and stored.status is EventStatus.DRAFT
    assert await backend.outbox() == []


async def test_writing_an_aggregate_queues_its_facts_once(backend: Backend) -> None:
    user = User.sign_up(
        id=new_id(),
        email=EmailAddress("grace@example.org"),
        full_name="Grace Hopper",
        role=Role.ORGANIZER,
        password_hash="x",
        now=NOW,
    )
    async with backend.uow() as uow:
        await uow.users.add(user)
        await uow.users.save(user)  # written twice, announced once
        await uow.commit()

    assert [(n.kind, n.recipient_id) for n in await backend.outbox()] == [
        (NotificationKind.WELCOME, user.id)
    ]


@pytest.mark.parametrize("ending", ["cancel", "delete"])
async def test_the_end_of_an_event_reaches_whoever_held_a_registration(
    backend: Backend, ending: str
) -> None:
    """Broadcasts go to the registrations as they stand when the event is
    written: saved before its registrations are cancelled, deleted before they go."""
    organizer, seated, waiting = a_user(role=Role.ORGANIZER), a_user(), a_user()
    event = an_event(organizer, capacity=1)
    event.attendee_count, event.waitlist_count, event.tickets_issued = 1, 1, 1
    await store(
        backend,
        organizer,
        seated,
        waiting,
        event,
        a_registration(event, seated),
        a_registration(event, waiting, status=RegistrationStatus.WAITLISTED, ticket=1),
    )

    async with backend.uow() as uow:
        loaded = await uow.events.get_for_update(event.id)
        assert loaded is not None
        if ending == "cancel":
            loaded.cancel("rain", LATER)
            await uow.events.save(loaded)
            await uow.registrations.cancel_all(loaded.id, LATER)
        else:
            loaded.delete(LATER)
            await uow.events.delete(loaded)
        await uow.commit()

    kind = (
        NotificationKind.EVENT_CANCELLED if ending == "cancel" else NotificationKind.EVENT_DELETED
    )
    told = {n.recipient_id for n in await backend.outbox() if n.kind is kind}
    assert told == {seated.id, waiting.id}
