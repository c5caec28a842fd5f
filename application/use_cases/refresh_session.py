from __future__ import annotations

from dataclasses import dataclass

from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.sessions import TokenPair, token_pair
from domain.errors import InvalidCredentials


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshCommand:
    refresh_token: str


class RefreshSession:
    """Swap a refresh token for a new token pair (rotation).

    - Each refresh token works once; the session keeps only the newest.
    - Presenting a spent token revokes the whole session: someone else has it.
    - Inactive users cannot refresh.
    """

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: RefreshCommand) -> TokenPair:
        now = self._clock.now()
        presented = self._tokens.digest(command.refresh_token)
        async with self._uow() as uow:
            session = await uow.sessions.find_by_token(presented)
            if session is None:
                raise InvalidCredentials("the refresh token is not valid")
            new_token = self._tokens.new_refresh_token()
            try:
                session.rotate(presented, self._tokens.digest(new_token), now)
            except InvalidCredentials:
                await uow.sessions.save(session)  # keeps a reuse-triggered revocation
                await uow.commit()
                raise
            user = await uow.users.get(session.user_id)
            if user is None or not user.is_active:
                raise InvalidCredentials("the account is not active")
            await uow.sessions.save(session)
            await uow.commit()
        return token_pair(self._tokens, user, session, new_token, now)
