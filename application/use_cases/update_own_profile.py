from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_signed_in
from application.ports.queries import UserView
from application.ports.security import CommonPasswords, PasswordHasher
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import InvalidValue, NotAuthenticated
from domain.values import PasswordPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateOwnProfileCommand:
    actor: Principal | None
    full_name: str | None = None
    password: str | None = None
    current_password: str | None = None


class UpdateOwnProfile:
    """Change one's own name or password.

    - A new password needs the current one, and meets the password policy.
    - Changing the password ends every other sign-in session of the account.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        common_passwords: CommonPasswords,
        policy: PasswordPolicy,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._common = common_passwords
        self._policy = policy
        self._clock = clock

    async def execute(self, command: UpdateOwnProfileCommand) -> UserView:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_for_update(actor.user_id)
            if user is None or not user.is_active:
                raise NotAuthenticated("the account is not active")
            if command.full_name is not None:
                user.rename(command.full_name, now)
            if command.password is not None:
                if command.current_password is None:
                    raise InvalidValue("current_password", "is required to change the password")
                if not await self._hasher.verify(command.current_password, user.password_hash):
                    raise InvalidValue("current_password", "is not the current password")
                self._policy.check(command.password, is_common=command.password in self._common)
                user.set_password_hash(await self._hasher.hash(command.password), now)
                await uow.sessions.revoke_all_for_user(
                    user.id, now, except_session=actor.session_id
                )
            await uow.users.save(user)
            await uow.commit()
        return UserView.of(user)
