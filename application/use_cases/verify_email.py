from __future__ import annotations

from dataclasses import dataclass

from application.account_tokens import redeem
from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import InvalidToken
from domain.users import TokenPurpose


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyEmailCommand:
    token: str


class VerifyEmail:
    """Mark the account's address verified with a mailed verification token.

    The token is single use; a used, voided, expired or unknown one, or one of a
    deactivated account, is InvalidToken. No sign-in is needed: the token is the
    proof."""

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: VerifyEmailCommand) -> None:
        async with self._uow() as uow:
            now = self._clock.now()
            token = await redeem(
                uow, self._tokens, command.token, TokenPurpose.EMAIL_VERIFICATION, now
            )
            user = await uow.users.get_for_update(token.user_id)
            if user is None or not user.is_active:
                raise InvalidToken()
            user.verify_email(now)
            await uow.users.save(user)
            await uow.commit()
