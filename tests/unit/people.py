"""Signed-up users for use-case tests.

`World.user` derives each email from the first 12 hex digits of a UUIDv7, which are
its millisecond timestamp, so two users made in the same millisecond collide
(EmailTaken). `person` is the same scene with an email that is always unique.
"""

from __future__ import annotations

from uuid import uuid4

from application.principal import Principal
from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from tests.unit.world import PASSWORD, World


async def person(world: World, role: Role = Role.ATTENDEE, name: str = "Ada Lovelace") -> Principal:
    """A new active user with `role` and the world's PASSWORD, as a signed-in principal."""
    view = await world.sign_up.open_account(
        SignUpCommand(email=f"{uuid4().hex}@example.org", password=PASSWORD, full_name=name), role
    )
    return Principal(user_id=view.id, role=role)
