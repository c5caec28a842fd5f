from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.accounts import erase_account
from application.authorization import require_role
from application.ports.idempotency import IdempotencyStore, user_caller
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import NotFound
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUserCommand:
    actor: Principal | None
    user_id: UUID


class DeleteUser:
    """Admins erase an account (`DELETE /users/{id}`), active or deactivated, exactly
    as its owner would (application.accounts.erase_account). Deactivating, which
    can be undone, is `UpdateUser` with `is_active=False`.

    - The answers stored for the account's Idempotency-Keys are deleted.
    - The last active admin can never be erased.
    - An account erased already is not found.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, idempotency: IdempotencyStore) -> None:
        self._uow = uow
        self._clock = clock
        self._idempotency = idempotency

    async def execute(self, command: DeleteUserCommand) -> None:
        require_role(command.actor, Role.ADMIN)
        async with self._uow() as uow:
            user = await uow.users.get(command.user_id)
            if user is None:
                raise NotFound("user", command.user_id)
            await erase_account(uow, user, now=self._clock.now())
            await uow.commit()
        # The answers stored for their Idempotency-Keys hold personal data: gone now,
        # not after their 24 hours (if this fails, the worker's purge still takes them).
        await self._idempotency.forget_caller(user_caller(command.user_id))
