from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.accounts import hold_active_account, require_verified_email
from application.authorization import require_signed_in, visible_event
from application.ports.queries import RegistrationView
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from application.use_cases.manage_co_organizers import co_organizers_of_draft


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterForEventCommand:
    actor: Principal | None
    event_id: UUID


class RegisterForEvent:
    """A signed-in user joins an event.

    - Only published events that have not ended can be joined.
    - A free seat confirms the registration; a full event with a waitlist puts
      the user at the end of it; a full event without one refuses (EventFull).
    - One registration per user and event (AlreadyRegistered).
    - The event row is locked while deciding, so concurrent joins never overbook.
    - The account and session must still be active when the seat is taken; the
      account stays so until the join commits (a closure waits, then releases it).
    - With `require_verified_email` (EVENTAPI_REQUIRE_VERIFIED_EMAIL) the
      account's address must be verified (EmailUnverified).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        *,
        require_verified_email: bool = False,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._require_verified = require_verified_email

    async def execute(self, command: RegisterForEventCommand) -> RegistrationView:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await hold_active_account(uow, actor, now)
            require_verified_email(user, required=self._require_verified)
            found = await uow.events.get_for_update(command.event_id)
            event = visible_event(
                actor, found, command.event_id, await co_organizers_of_draft(uow, found)
            )
            registration = event.register(
                registration_id=self._ids.new_id(),
                user_id=actor.user_id,
                existing=await uow.registrations.find(event.id, actor.user_id),
                now=now,
            )
            await uow.registrations.add(registration)
            await uow.events.save(event)
            await uow.commit()
        return RegistrationView(
            id=registration.id,
            event_id=registration.event_id,
            user_id=registration.user_id,
            status=registration.status,
            waitlist_position=event.position_of_newcomer(registration),
            created_at=registration.created_at,
            ticket_code=registration.ticket_code,
        )
