from __future__ import annotations

from dataclasses import dataclass

from application.account_tokens import new_token
from application.ports.queries import UserView
from application.ports.security import CommonPasswords, PasswordHasher, TokenService
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import EmailTaken
from domain.users import Role, TokenPurpose, User
from domain.values import EmailAddress, PasswordPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class SignUpCommand:
    email: str
    password: str
    full_name: str


class SignUp:
    """Create an account for anyone who asks.

    - Self-registration always creates an active attendee; only admins grant roles.
    - The email is unique case-insensitively.
    - The password meets the length policy and is not a common password.
    - A welcome notification is queued with the new account; it carries the
      link (a 48-hour single-use token) that verifies the address, which starts
      unverified. Accounts an admin opens get the same (docs/security.md).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        common_passwords: CommonPasswords,
        policy: PasswordPolicy,
        clock: Clock,
        ids: IdGenerator,
        tokens: TokenService,
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self._hasher = hasher
        self._common = common_passwords
        self._policy = policy
        self._clock = clock
        self._ids = ids

    async def execute(self, command: SignUpCommand) -> UserView:
        return await self.open_account(command, Role.ATTENDEE)

    async def open_account(self, command: SignUpCommand, role: Role) -> UserView:
        """Create an account with any role: for callers that checked who may grant it."""
        email = EmailAddress(command.email)
        self._policy.check(command.password, is_common=command.password in self._common)
        now = self._clock.now()
        user_id = self._ids.new_id()
        raw, token = new_token(self._tokens, user_id, TokenPurpose.EMAIL_VERIFICATION, now)
        user = User.sign_up(
            id=user_id,
            email=email,
            full_name=command.full_name,
            role=role,
            password_hash="",
            now=now,
            verification_token=raw,
            verification_expires_at=token.expires_at,
        )
        async with self._uow(read_only=True) as uow:
            taken = await uow.users.get_by_email(email) is not None
        if taken:
            raise EmailTaken()
        # Hash outside any transaction: bcrypt takes a while and a connection is precious.
        user.password_hash = await self._hasher.hash(command.password)
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.account_tokens.add(token)
            await uow.commit()
        return UserView.of(user)
