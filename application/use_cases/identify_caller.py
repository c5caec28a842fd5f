from __future__ import annotations

from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import NotAuthenticated


class IdentifyCaller:
    """Turn a bearer access token into the caller, as of now.

    - The token must be valid and its session not revoked (logout is immediate).
    - The role comes from the stored user, not the token: a demotion or a
      deactivation takes effect on the very next request.
    """

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, access_token: str) -> Principal:
        now = self._clock.now()
        claims = self._tokens.read_access(access_token, now)
        async with self._uow(read_only=True) as uow:
            session = await uow.sessions.get(claims.session_id)
            user = await uow.users.get(claims.user_id)
        if session is None or not session.is_usable(now) or session.user_id != claims.user_id:
            raise NotAuthenticated("the session has ended")
        if user is None or not user.is_active:
            raise NotAuthenticated("the account is not active")
        return Principal(user_id=user.id, role=user.role, session_id=session.id)
