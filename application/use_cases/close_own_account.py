from __future__ import annotations

from dataclasses import dataclass

from application.accounts import erase_account
from application.authorization import require_signed_in
from application.errors import NotAuthenticated
from application.ports.idempotency import IdempotencyStore, user_caller
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseOwnAccountCommand:
    actor: Principal | None


class CloseOwnAccount:
    """A user erases their own account (`DELETE /users/me`), for good.

    - Personal data is replaced by a tombstone; the address may sign up again.
    - Every sign-in session ends at once.
    - Registrations for events that have not ended are released, and the
      first waitlisted person of each event is promoted; registrations of
      past events remain only as the events' counts.
    - Their upcoming published events are cancelled (attendees told), their
      drafts deleted (application.accounts.erase_account).
    - The answers stored for the account's Idempotency-Keys are deleted.
    - The last active admin cannot leave the service without an admin.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, idempotency: IdempotencyStore) -> None:
        self._uow = uow
        self._clock = clock
        self._idempotency = idempotency

    async def execute(self, command: CloseOwnAccountCommand) -> None:
        actor = require_signed_in(command.actor)
        async with self._uow() as uow:
            user = await uow.users.get(actor.user_id)
            if user is None:
                raise NotAuthenticated("the account is not active")
            await erase_account(uow, user, now=self._clock.now())
            await uow.commit()
        # The answers stored for their Idempotency-Keys hold personal data: gone now,
        # not after their 24 hours (if this fails, the worker's purge still takes them).
        await self._idempotency.forget_caller(user_caller(actor.user_id))
