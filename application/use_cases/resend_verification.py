from __future__ import annotations

from dataclasses import dataclass

from application.account_tokens import new_token, store_replacing_older
from application.authorization import require_signed_in
from application.errors import NotAuthenticated
from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.users import TokenPurpose


@dataclass(frozen=True, slots=True, kw_only=True)
class ResendVerificationCommand:
    actor: Principal | None


class ResendVerification:
    """A signed-in user asks for a new verification link.

    - A new 48-hour token replaces the account's older verification tokens and
      is mailed (through the outbox).
    - An address already verified gets no mail and no error: the request is
      accepted and there is nothing left to do (docs/security.md).
    - The rate limit (3/hour per account) is the HTTP layer's `verify-email` policy.
    """

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: ResendVerificationCommand) -> None:
        actor = require_signed_in(command.actor)
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get_for_update(actor.user_id)
            if user is None or not user.is_active:
                raise NotAuthenticated("the account is not active")
            if user.email_verified:
                return
            raw, token = new_token(self._tokens, user.id, TokenPurpose.EMAIL_VERIFICATION, now)
            await store_replacing_older(uow, token)
            user.request_email_verification(token=raw, expires_at=token.expires_at, now=now)
            await uow.users.save(user)
            await uow.commit()
