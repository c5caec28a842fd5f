"""Issuing the token pair of a sign-in session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports.security import TokenService
from application.ports.system import IdGenerator
from application.ports.unit_of_work import UnitOfWork
from domain.users import AuthSession, User

#: How long a sign-in lasts without the user typing their password again.
SESSION_LIFETIME = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str


async def start_session(
    uow: UnitOfWork, tokens: TokenService, ids: IdGenerator, user: User, now: datetime
) -> TokenPair:
    refresh_token = tokens.new_refresh_token()
    session = AuthSession(
        id=ids.new_id(),
        user_id=user.id,
        current_token_digest=tokens.digest(refresh_token),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    await uow.sessions.add(session)
    return token_pair(tokens, user, session, refresh_token, now)


def token_pair(
    tokens: TokenService, user: User, session: AuthSession, refresh_token: str, now: datetime
) -> TokenPair:
    access = tokens.issue_access(user_id=user.id, session_id=session.id, role=user.role, now=now)
    return TokenPair(
        access_token=access, expires_in=tokens.access_ttl_seconds, refresh_token=refresh_token
    )
