from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_signed_in
from application.errors import NotAuthenticated
from application.password_checks import PasswordChecks
from application.ports.queries import UserView
from application.ports.security import CommonPasswords, PasswordHasher
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import InvalidValue
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
    - Checking the current password spends one of the account's password
      checks, as signing in does (`PasswordChecks`): no second oracle.
    - bcrypt (checking the current password, hashing the new one) runs before
      the unit of work, never under its write lock; under the lock the stored
      hash must still be the one that was checked, or the change is refused.
    - Changing the password ends every other sign-in session of the account.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        common_passwords: CommonPasswords,
        policy: PasswordPolicy,
        clock: Clock,
        passwords: PasswordChecks,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._common = common_passwords
        self._policy = policy
        self._clock = clock
        self._passwords = passwords

    async def execute(self, command: UpdateOwnProfileCommand) -> UserView:
        actor = require_signed_in(command.actor)
        checked_hash = new_hash = None
        if command.password is not None:
            checked_hash, new_hash = await self._new_password_hash(
                actor, command.password, command.current_password
            )
        async with self._uow() as uow:
            user = await uow.users.get_for_update(actor.user_id)
            if user is None or not user.is_active:
                raise NotAuthenticated("the account is not active")
            now = self._clock.now()
            if command.full_name is not None:
                user.rename(command.full_name, now)
            if new_hash is not None:
                if user.password_hash != checked_hash:  # changed while bcrypt ran
                    raise InvalidValue("current_password", "is not the current password")
                user.change_password(new_hash, now)
                await uow.sessions.revoke_all_for_user(
                    user.id, now, except_session=actor.session_id
                )
            await uow.users.save(user)
            await uow.commit()
        return UserView.of(user)

    async def _new_password_hash(
        self, actor: Principal, password: str, current_password: str | None
    ) -> tuple[str, str]:
        """(the stored hash the current password was checked against, the new hash),
        computed outside any transaction."""
        if current_password is None:
            raise InvalidValue("current_password", "is required to change the password")
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(actor.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("the account is not active")
        if not await self._passwords.verify(user.email, current_password, user.password_hash):
            raise InvalidValue("current_password", "is not the current password")
        self._policy.check(password, is_common=password in self._common)
        return user.password_hash, await self._hasher.hash(password)
