from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import require_role, require_signed_in
from application.ports.queries import UserQueries, UserView
from application.principal import Principal
from domain.errors import NotFound
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class GetUserCommand:
    actor: Principal | None
    #: None: the caller's own account.
    user_id: UUID | None = None


class GetUser:
    """Anyone signed in reads their own account (no id); reading an account by id
    is for admins only, whoever's it is."""

    def __init__(self, users: UserQueries) -> None:
        self._users = users

    async def execute(self, command: GetUserCommand) -> UserView:
        actor = require_signed_in(command.actor)
        user_id = actor.user_id if command.user_id is None else command.user_id
        if command.user_id is not None:
            require_role(actor, Role.ADMIN)
        view = await self._users.get(user_id)
        if view is None:
            raise NotFound("user", user_id)
        return view
