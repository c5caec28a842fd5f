"""Who is calling: resolved from credentials by the entrypoint, checked by the core."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    user_id: UUID
    role: Role
    session_id: UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
