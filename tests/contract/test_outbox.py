"""The outbox: stored with the change, one message per recipient and cause."""

from __future__ import annotations

from application.ports.notifications import Broadcast, Notification, NotificationKind
from domain.registration import RegistrationStatus
from domain.users import Role
from tests.builders import NOW, a_registration, a_user, an_event, new_id
from tests.contract.backends import Backend
from tests.contract.test_repositories import store


async def test_notifications_are_kept_only_with_the_commit(backend: Backend) -> None:
    user = a_user()
    await store(backend, user)
    note = Notification(
        cause_id=new_id(),
        kind=NotificationKind.WELCOME,
        recipient_id=user.id,
        created_at=NOW,
        details={"hello": "world"},
    )
    async with backend.uow() as uow:
        await uow.outbox.add(note)
    assert await backend.outbox() == []
    async with backend.uow() as uow:
        await uow.outbox.add(note)
        await uow.outbox.add(note)  # the same cause for the same person: kept once
        await uow.commit()
    assert await backend.outbox() == [note]


async def test_a_broadcast_reaches_each_current_attendee_once(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    seated, waiting, gone = a_user(), a_user(), a_user()
    event, other_event = an_event(organizer), an_event(organizer)
    regs = [
        a_registration(event, seated),
        a_registration(event, waiting, status=RegistrationStatus.WAITLISTED, ticket=1),
        a_registration(event, gone, status=RegistrationStatus.CANCELLED),
        a_registration(other_event, gone),
    ]
    await store(backend, organizer, seated, waiting, gone, event, other_event, *regs)
    cause = new_id()
    broadcast = Broadcast(
        cause_id=cause,
        kind=NotificationKind.EVENT_CHANGED,
        event_id=event.id,
        created_at=NOW,
        details={"time_changed": "true"},
    )
    async with backend.uow() as uow:
        await uow.outbox.broadcast(broadcast)
        await uow.outbox.broadcast(broadcast)
        await uow.commit()
    queued = await backend.outbox()
    assert sorted(n.recipient_id for n in queued) == sorted([seated.id, waiting.id])
    assert {(n.cause_id, n.kind, n.event_id) for n in queued} == {
        (cause, NotificationKind.EVENT_CHANGED, event.id)
    }
    assert all(dict(n.details) == {"time_changed": "true"} for n in queued)
