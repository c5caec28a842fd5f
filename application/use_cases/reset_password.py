from __future__ import annotations

from dataclasses import dataclass

from application.account_tokens import redeem
from application.ports.security import CommonPasswords, PasswordHasher, TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import InvalidToken
from domain.users import TokenPurpose
from domain.values import PasswordPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetPasswordCommand:
    token: str
    password: str


class ResetPassword:
    """Set a new password with a mailed reset token.

    - The password policy of sign-up applies (checked before the token, so a
      weak password never spends it).
    - The token is spent under lock: of two concurrent uses, one wins and the
      other gets InvalidToken, as do used, voided, expired and unknown tokens,
      and tokens of a deactivated account.
    - bcrypt runs before the unit of work, never under its write lock.
    - Every session of the account is revoked; `User.reset_password` records
      `PasswordReset` and counts the address as verified (the token came by mail).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        common_passwords: CommonPasswords,
        policy: PasswordPolicy,
        tokens: TokenService,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._common = common_passwords
        self._policy = policy
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: ResetPasswordCommand) -> None:
        self._policy.check(command.password, is_common=command.password in self._common)
        if not command.token:
            raise InvalidToken()
        async with self._uow(read_only=True) as uow:  # fail fast, before bcrypt
            known = await uow.account_tokens.find(self._tokens.digest(command.token))
        if known is None:
            raise InvalidToken()
        password_hash = await self._hasher.hash(command.password)
        async with self._uow() as uow:
            now = self._clock.now()
            token = await redeem(uow, self._tokens, command.token, TokenPurpose.PASSWORD_RESET, now)
            user = await uow.users.get_for_update(token.user_id)
            if user is None or not user.is_active:
                raise InvalidToken()
            user.reset_password(password_hash, now)
            await uow.users.save(user)
            await uow.sessions.revoke_all_for_user(user.id, now)
            await uow.commit()
