from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from uuid import UUID

from application.account_tokens import new_token, store_replacing_older
from application.errors import TooManyAttempts
from application.ports.rate_limiter import Rate, RateLimiter
from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import InvalidValue
from domain.users import TokenPurpose
from domain.values import EmailAddress

#: The least time an accepted request takes (seconds): both paths are padded to it.
MINIMUM_DURATION = 0.1
#: At most 3 reset requests per account (its address) per hour (the API contract).
DEFAULT_ACCOUNT_RATE = Rate("password-reset-account", 3, 60 * 60)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestPasswordResetCommand:
    email: str


class RequestPasswordReset:
    """Anyone asks for a reset link for an address; the answer never says whether
    an account has it.

    - An active account with this address gets a mail (through its outbox row)
      with a single-use token valid 30 minutes; the token replaces the account's
      older reset tokens. Unknown, malformed and deactivated addresses get nothing.
    - Every request spends the address's budget (`rate`, per address whether or
      not an account has it), so the 429 reveals nothing either; TooManyAttempts
      when it is spent. `rate=None` turns it off (EVENTAPI_RATE_LIMITS=off).
    - Both paths do the same work up to the lookup (a token is drawn and hashed,
      a writing unit of work looks the address up), but only a known address
      then writes (the token, the outbox row) and commits, which is measurable.
      So every accepted request is padded to `minimum_duration` (100 ms; the
      writes take a few), after its unit of work has ended: no connection is held
      while it waits. The mail is sent later by the worker, never in the request.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        tokens: TokenService,
        limiter: RateLimiter,
        clock: Clock,
        rate: Rate | None = DEFAULT_ACCOUNT_RATE,
        minimum_duration: float = MINIMUM_DURATION,
    ) -> None:
        self._minimum = minimum_duration
        self._uow = uow
        self._tokens = tokens
        self._limiter = limiter
        self._clock = clock
        self._rate = rate

    async def execute(self, command: RequestPasswordResetCommand) -> None:
        started = time.monotonic()
        await self._request(command)
        left = self._minimum - (time.monotonic() - started)
        if left > 0:
            await asyncio.sleep(left)

    async def _request(self, command: RequestPasswordResetCommand) -> None:
        try:
            email: EmailAddress | None = EmailAddress(command.email)
        except InvalidValue:
            email = None  # no account can have it: the same answer as an unknown one
        if self._rate is not None:
            key = f"reset:{email if email is not None else command.email.strip().lower()}"
            decision = await self._limiter.hit(key, self._rate)
            if not decision.allowed:
                raise TooManyAttempts(decision.retry_after, self._rate)
        if email is None:
            return
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get_by_email(email)
            # Drawn either way, so that a known address costs no extra work here.
            raw, token = new_token(self._tokens, user.id if user else _NOBODY, _RESET, now)
            if user is None or not user.is_active:
                return
            await store_replacing_older(uow, token)
            user.request_password_reset(token=raw, expires_at=token.expires_at, now=now)
            await uow.users.save(user)  # hands the fact (and so the mail) to the outbox
            await uow.commit()


_RESET = TokenPurpose.PASSWORD_RESET
_NOBODY = UUID(int=0)
