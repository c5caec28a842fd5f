"""Closing an account (shared by "delete me" and an admin's delete or deactivation),
and the check that keeps a closed account from taking seats while it closes.

Lock order, the same on every path so that none can deadlock another: the active
admins (in id order, only when the account is an admin's), then the account's
row, then events (in id order). Closing takes the account's row exclusively (the
UPDATE that deactivates it) before it collects the registrations to release;
joining takes it shared (`hold_active_account`) before it locks the event. So a
join either commits before the closure collects, and is released by it, or
waits and then finds the account closed. On SQLite every writing unit of work
holds the database's write lock from its first statement, which orders them
just as strictly.
"""

from __future__ import annotations

from datetime import datetime

from application.errors import EmailUnverified, NotAuthenticated
from application.ports.unit_of_work import UnitOfWork
from application.principal import Principal
from application.seats import release_registration
from domain.errors import EventLocked, EventNotJoinable
from domain.users import User


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
