from __future__ import annotations

from application.errors import NotAuthenticated
from application.ports.queries import CallerQueries
from application.ports.security import AccessClaims, TokenService
from application.ports.system import Clock
from application.principal import Principal


class IdentifyCaller:
    """Turn a bearer access token into the caller, as of now.

    - The token must be valid and its session not revoked (logout is immediate).
    - The role comes from the stored user, not the token: a demotion or a
      deactivation takes effect on the very next request.
    - It runs on every signed-in request: one read of the session with its
      user, never the session's spent refresh tokens.
    """

    def __init__(self, callers: CallerQueries, tokens: TokenService, clock: Clock) -> None:
        self._callers = callers
        self._tokens = tokens
        self._clock = clock

    async def execute(self, access_token: str) -> Principal:
        return await self.identify(self._tokens.read_access(access_token, self._clock.now()))

    async def identify(self, claims: AccessClaims) -> Principal:
        """For callers that verified the token already (the HTTP edge does, once)."""
        caller = await self._callers.caller(claims.session_id)
        if (
            caller is None
            or caller.user_id != claims.user_id
            or caller.session_revoked_at is not None
            or self._clock.now() >= caller.session_expires_at
        ):
            raise NotAuthenticated("the session has ended")
        if not caller.is_active:
            raise NotAuthenticated("the account is not active")
        return Principal(user_id=caller.user_id, role=caller.role, session_id=caller.session_id)
