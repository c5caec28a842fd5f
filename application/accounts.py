"""Closing an account (an admin's deactivation, reversible) and erasing one ("delete
me" and an admin's delete, for good), and the check that keeps a closed or erased
account from taking seats while it closes.

Lock order, the same on every path so that none can deadlock another: the active
admins (in id order, only when the account is an admin's), then the account's
row, then events (in id order). Closing and erasing take the account's row
exclusively (the UPDATE that deactivates it) before they collect the
registrations to release; joining takes it shared (`hold_active_account`) before
it locks the event. So a join either commits before the closure collects, and is
released by it, or waits and then finds the account closed. On SQLite every
writing unit of work holds the database's write lock from its first statement,
which orders them just as strictly.
"""

from __future__ import annotations

from datetime import datetime

from application.errors import EmailUnverified, NotAuthenticated
from application.ports.unit_of_work import UnitOfWork
from application.principal import Principal
from application.seats import release_registration
from application.use_cases.cancel_event import cancel_and_release
from domain.errors import EventLocked, EventNotJoinable, NotFound
from domain.event import Event, EventStatus
from domain.registration import Registration
from domain.users import TokenPurpose, User

#: The reason attendees read when an event is called off because its organizer's
#: account was erased.
ORGANIZER_ERASED = "The organizer's account was deleted."


async def hold_active_account(uow: UnitOfWork, actor: Principal, now: datetime) -> User:
    """Check again, inside the unit of work, that the caller's account and session
    are still active, and keep the account from being closed until it ends.
    Call it before locking any event (see the lock order above). Returns the account."""
    user = await uow.users.get_for_share(actor.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("the account is not active")
    if actor.session_id is not None:
        session = await uow.sessions.get(actor.session_id)
        if session is None or not session.is_usable(now):
            raise NotAuthenticated("the session has ended")
    return user


def require_verified_email(user: User | None, *, required: bool) -> None:
    """EmailUnverified when EVENTAPI_REQUIRE_VERIFIED_EMAIL is on (`required`) and
    the account's address is not verified."""
    if required and (user is None or not user.email_verified):
        raise EmailUnverified()


async def active_admins_if_admin(uow: UnitOfWork, user: User) -> int:
    """How many active admins there are, counted under lock, when it matters."""
    return await uow.users.lock_active_admins() if user.is_active_admin else 0


async def close_account(uow: UnitOfWork, user: User, *, now: datetime) -> None:
    """Deactivate, end every sign-in, and release the user's upcoming registrations
    (promoting whoever waits). Past registrations stay as history.

    Saves `user` (with whatever else the caller changed on it): do not save it
    before, or the account's row would be locked before the admins'."""
    user.deactivate(active_admins=await active_admins_if_admin(uow, user), now=now)
    await uow.users.save(user)  # locks the account's row before its registrations are read
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


async def erase_account(uow: UnitOfWork, user: User, *, now: datetime) -> None:
    """Erase the account, for good, in the caller's unit of work (which commits).

    - Personal data is replaced by a tombstone (`User.erase`); the row stays, so
      that the events the person organised keep their organizer.
    - Every sign-in ends, and every mailed reset or verification token with it;
      the calendar feed's secret is deleted (its URL answers 404).
    - Registrations for events that have not ended are released (the waitlist
      moves up, as when leaving). Those of ended or cancelled events are deleted:
      an ended event's `attendee_count` keeps counting the person, anonymously.
    - Their drafts are deleted; their published events that have not ended are
      cancelled, and the attendees told (`cancel_and_release`); their past
      and cancelled events stay, organised by the tombstone.
    - They co-organize nothing any more. Events they own are closed as above:
      their co-organizers do not take them over.
    - Every notification addressed to them is deleted, sent or not: none may
      reach the address, and together they would say which events they joined.

    Raises NotFound when the account was erased meanwhile, LastActiveAdmin for
    the last active admin. Do not save `user` before: see the lock order above.
    """
    admins = await active_admins_if_admin(uow, user)
    # Locks the account's row (before any event), and reads it again under the
    # lock: a concurrent erasure that committed first leaves nothing to erase.
    locked = await uow.users.get_for_update(user.id)
    if locked is None:
        raise NotFound("user", user.id)
    locked.erase(active_admins=admins, now=now)
    await uow.users.save(locked)
    await uow.sessions.revoke_all_for_user(locked.id, now)
    for purpose in TokenPurpose:  # a mailed reset or verification link dies with the account
        await uow.account_tokens.discard_for_user(locked.id, purpose)
    await uow.calendar_feeds.discard(locked.id)  # personal data: the contract says so
    await uow.webhooks.delete_owned_by(locked.id)  # URLs and secrets are personal data
    await uow.co_organizers.remove_user(locked.id)  # co-organizers' rights are not inherited
    held = {reg.event_id: reg for reg in await uow.registrations.all_for_user(locked.id)}
    organized = await uow.events.open_organized_by(locked.id, ending_after=now)
    # Lock events in id order, as closing does, so that none of these can deadlock.
    for event_id in sorted(set(held) | set(organized)):
        event = await uow.events.get_for_update(event_id)
        if event is None:
            continue
        if event.organizer_id == locked.id:
            await _close_organized(uow, event, now=now)
            if event.status is EventStatus.DRAFT:
                continue  # deleted, with every registration
        # Re-read under the event's lock: a promotion or a leave may have come first.
        registration = await uow.registrations.find(event_id, locked.id)
        if registration is not None:
            await _drop_registration(uow, event, registration, now=now)
    await uow.outbox.forget_recipient(locked.id)


async def _close_organized(uow: UnitOfWork, event: Event, *, now: datetime) -> None:
    """A draft goes; a published event that has not ended is called off."""
    if event.status is EventStatus.DRAFT:
        event.delete(now)
        await uow.events.delete(event)
    elif event.status is EventStatus.PUBLISHED and not event.window.has_ended(now):
        await cancel_and_release(uow, event, ORGANIZER_ERASED, now=now)


async def _drop_registration(
    uow: UnitOfWork, event: Event, registration: Registration, *, now: datetime
) -> None:
    """Release a seat that still counts; forget one of an ended or cancelled event."""
    if (
        registration.is_active
        and event.status is EventStatus.PUBLISHED
        and not event.window.has_ended(now)
    ):
        await release_registration(uow, event, registration, now=now)
        return
    event.forget(registration, now)
    await uow.registrations.delete(registration.id)
    await uow.events.save(event)
