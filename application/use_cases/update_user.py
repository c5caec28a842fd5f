from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.accounts import active_admins_if_admin, close_account
from application.authorization import require_role
from application.ports.queries import UserView
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import NotFound
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateUserCommand:
    actor: Principal | None
    user_id: UUID
    full_name: str | None = None
    role: Role | None = None
    is_active: bool | None = None


class UpdateUser:
    """Admins rename, change the role of, deactivate or reactivate any user.

    - The last active admin is never demoted or deactivated.
    - Deactivation is the same as the user closing their account: sessions end,
      upcoming registrations are released.
    - A new role applies from the user's next request.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: UpdateUserCommand) -> UserView:
        require_role(command.actor, Role.ADMIN)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(command.user_id)
            if user is None:
                raise NotFound("user", command.user_id)
            if command.full_name is not None:
                user.rename(command.full_name, now)
            if command.role is not None and command.role is not user.role:
                admins = await active_admins_if_admin(uow, user)
                user.change_role(command.role, active_admins=admins, now=now)
            if command.is_active is True and not user.is_active:
                user.activate(now)
            if command.is_active is False and user.is_active:
                await close_account(uow, user, now=now)  # saves the user
            else:
                await uow.users.save(user)
            await uow.commit()
        return UserView.of(user)
