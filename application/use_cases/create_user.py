from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_role
from application.ports.queries import UserView
from application.principal import Principal
from application.use_cases.sign_up import SignUp, SignUpCommand
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUserCommand:
    actor: Principal | None
    email: str
    password: str
    full_name: str
    role: Role


class CreateUser:
    """An admin opens an account with any role, under the same rules as sign-up."""

    def __init__(self, sign_up: SignUp) -> None:
        self._sign_up = sign_up

    async def execute(self, command: CreateUserCommand) -> UserView:
        require_role(command.actor, Role.ADMIN)
        account = SignUpCommand(
            email=command.email, password=command.password, full_name=command.full_name
        )
        return await self._sign_up.open_account(account, command.role)
