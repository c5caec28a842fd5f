"""Closing an account: shared by "delete me" and an admin's delete or deactivation."""

from __future__ import annotations

from datetime import datetime

from application.notifications import queue_notifications
from application.ports.system import IdGenerator
from application.ports.unit_of_work import UnitOfWork
from application.seats import release_registration
from domain.errors import EventLocked, EventNotJoinable
from domain.users import User


async def active_admins_if_admin(uow: UnitOfWork, user: User) -> int:
    """How many active admins there are, counted under lock, when it matters."""
    return await uow.users.lock_active_admins() if user.is_active_admin else 0


async def close_account(uow: UnitOfWork, user: User, *, now: datetime, ids: IdGenerator) -> None:
    """Deactivate, end every sign-in, and release the user's upcoming registrations
    (promoting whoever waits). Past registrations stay as history."""
    user.deactivate(active_admins=await active_admins_if_admin(uow, user), now=now)
    await uow.users.save(user)
    await uow.sessions.revoke_all_for_user(user.id, now)
    registrations = await uow.registrations.active_for_user(user.id, ending_after=now)
    # Lock events in id order so concurrent closures cannot deadlock each other.
    for stale in sorted(registrations, key=lambda reg: reg.event_id):
        event = await uow.events.get_for_update(stale.event_id)
        # Re-read under the event's lock: a promotion or a leave may have come first.
        registration = await uow.registrations.get(stale.id)
        if event is None or registration is None or not registration.is_active:
            continue
        try:
            await release_registration(uow, event, registration, now=now)
        except (EventLocked, EventNotJoinable):
            continue
        await queue_notifications(uow.outbox, event.pull_recorded(), ids)
