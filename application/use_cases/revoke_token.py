from __future__ import annotations

from dataclasses import dataclass

from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import DomainError


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeCommand:
    actor: Principal
    token: str


class RevokeToken:
    """Sign out (RFC 7009): the session behind the token stops working.

    - A refresh token revokes its whole session; an access token revokes the
      session it was issued for, so both kinds are logouts.
    - Unknown, malformed or someone else's tokens are ignored silently (RFC 7009
      §2.2: the answer is the same either way), and nothing is revoked.
    """

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: RevokeCommand) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.find_by_token(self._tokens.digest(command.token))
            if session is None:
                try:
                    claims = self._tokens.read_access(command.token, now)
                except DomainError:
                    return
                session = await uow.sessions.get(claims.session_id)
            if session is None or session.user_id != command.actor.user_id:
                return
            session.revoke(now)
            await uow.sessions.save(session)
            await uow.commit()
