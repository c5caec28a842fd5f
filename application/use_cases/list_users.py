from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_role
from application.ports.queries import Page, PageRequest, UserCriteria, UserQueries, UserView
from application.principal import Principal
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUsersCommand:
    actor: Principal | None
    criteria: UserCriteria
    page: PageRequest


class ListUsers:
    """Admins page through users, filtered by role, activity and email/name text."""

    def __init__(self, users: UserQueries) -> None:
        self._users = users

    async def execute(self, command: ListUsersCommand) -> Page[UserView]:
        require_role(command.actor, Role.ADMIN)
        return await self._users.search(command.criteria, command.page)
