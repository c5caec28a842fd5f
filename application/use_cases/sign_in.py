from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from application.errors import TooManyAttempts
from application.password_checks import PasswordChecks
from application.ports.security import PasswordHasher, TokenService
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from application.sessions import TokenPair, start_session
from domain.domain_events import DomainEvent, SignInFailed, SignInLockedOut, SignInRefusal
from domain.errors import InvalidCredentials, InvalidValue
from domain.users import User
from domain.values import EmailAddress


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInCommand:
    email: str
    password: str


class SignInWithPassword:
    """Exchange an email and password for a new session's token pair.

    - Unknown email, wrong password and inactive account give the same error,
      and an unknown email costs a full password check too (no enumeration).
    - Each account gets a limited number of password checks per window,
      wherever the attempts come from (`PasswordChecks`).
    - bcrypt runs outside any transaction; the stored hash is re-checked under
      the lock before the session starts.
    - Every refusal is audited (`SignInFailed`, `SignInLockedOut`) in a unit of
      work of its own, naming the account if there is one; never the address or
      the password typed.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: TokenService,
        passwords: PasswordChecks,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._passwords = passwords
        self._clock = clock
        self._ids = ids

    async def execute(self, command: SignInCommand) -> TokenPair:
        try:
            email = EmailAddress(command.email)
        except InvalidValue:
            email = None
        user = None
        if email is not None:
            async with self._uow(read_only=True) as uow:
                user = await uow.users.get_by_email(email)
        # Verify outside any transaction: bcrypt is slow on purpose.
        try:
            valid = await self._passwords.verify(
                email, command.password, user.password_hash if user is not None else None
            )
        except TooManyAttempts as refused:
            await self._audit(
                SignInLockedOut(
                    occurred_at=self._clock.now(),
                    user_id=None if user is None else user.id,
                    retry_after_seconds=refused.retry_after,
                )
            )
            raise
        if user is None or not valid or not user.is_active:
            await self._refuse(user, _reason(user, valid=valid))
        fresh_hash = None
        if self._hasher.needs_rehash(user.password_hash):  # after a key or cost change
            fresh_hash = await self._hasher.hash(command.password)
        async with self._uow() as uow:
            # The account may have changed while bcrypt ran: a new password or a
            # deactivation must win over a sign-in that checked the old state.
            current = await uow.users.get_for_update(user.id)
            changed = (
                current is None
                or not current.is_active
                or current.password_hash != user.password_hash
            )
            if current is not None and not changed:
                now = self._clock.now()
                if fresh_hash is not None:
                    current.set_password_hash(fresh_hash, now)
                    await uow.users.save(current)
                pair = await start_session(uow, self._tokens, self._ids, current, now)
                await uow.commit()
                return pair
        # Refused after all: audited in a transaction of its own, as the others are.
        gone = current is None or not current.is_active
        await self._refuse(
            user, SignInRefusal.INACTIVE_ACCOUNT if gone else SignInRefusal.WRONG_PASSWORD
        )

    async def _refuse(self, user: User | None, reason: str) -> NoReturn:
        await self._audit(
            SignInFailed(
                occurred_at=self._clock.now(),
                user_id=None if user is None else user.id,
                reason=reason,
            )
        )
        raise InvalidCredentials("the email or password is wrong")

    async def _audit(self, fact: DomainEvent) -> None:
        """A refusal changes nothing, so its fact is handed to a unit of work of its own."""
        async with self._uow() as uow:
            await uow.record(fact)
            await uow.commit()


def _reason(user: User | None, *, valid: bool) -> str:
    if user is None:
        return SignInRefusal.UNKNOWN_ACCOUNT
    if not valid:
        return SignInRefusal.WRONG_PASSWORD
    return SignInRefusal.INACTIVE_ACCOUNT
