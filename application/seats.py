"""Giving up a seat: shared by leaving, removal by the organizer and account closure."""

from __future__ import annotations

from datetime import datetime

from application.ports.unit_of_work import UnitOfWork
from domain.event import Event
from domain.registration import Registration


async def release_registration(
    uow: UnitOfWork,
    event: Event,
    registration: Registration,
    *,
    now: datetime,
    by_organizer: bool = False,
) -> None:
    """Delete the registration and hand its seat to the first waitlisted person.

    `event` must have been loaded with `get_for_update`.
    """
    head = await uow.registrations.waitlist_head(
        event.id, event.waitlist_needed_to_release(registration)
    )
    promoted = event.release(registration, waitlist_head=head, now=now, by_organizer=by_organizer)
    await uow.registrations.delete(registration.id)
    if promoted is not None:
        await uow.registrations.save(promoted)
    await uow.events.save(event)
