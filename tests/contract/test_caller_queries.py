"""Who is behind a session (`CallerQueries`), the same on every backend: the
session's own state and its user's current role and activity, in one read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from application.ports.queries import CallerView
from domain.users import Role
from tests.builders import NOW, a_session, a_user
from tests.contract.backends import Backend
from tests.contract.test_repositories import store


async def test_the_caller_is_the_session_with_its_user_as_stored(backend: Backend) -> None:
    ada = a_user(role=Role.ORGANIZER)
    session = a_session(ada)
    await store(backend, ada)
    async with backend.uow() as uow:
        await uow.sessions.add(session)
        for number in range(5):  # spent refresh tokens play no part
            session.rotate(session.current_token_digest, f"digest-{number + 2}", NOW)
        await uow.sessions.save(session)
        await uow.commit()

    assert await backend.callers.caller(session.id) == CallerView(
        session_id=session.id,
        user_id=ada.id,
        role=Role.ORGANIZER,
        is_active=True,
        session_expires_at=session.expires_at,
        session_revoked_at=None,
    )
    assert await backend.callers.caller(a_session(ada).id) is None


async def test_a_revoked_session_and_a_changed_account_show(backend: Backend) -> None:
    ada = a_user(role=Role.ORGANIZER)
    session = a_session(ada)
    await store(backend, ada)
    later = NOW + timedelta(minutes=5)
    async with backend.uow() as uow:
        await uow.sessions.add(session)
        await uow.commit()
    async with backend.uow() as uow:
        session.revoke(later)
        await uow.sessions.save(session)
        await uow.users.save(replace(ada, role=Role.ATTENDEE, is_active=False, updated_at=later))
        await uow.commit()

    caller = await backend.callers.caller(session.id)

    assert caller is not None
    assert (caller.role, caller.is_active, caller.session_revoked_at) == (
        Role.ATTENDEE,
        False,
        later,
    )
