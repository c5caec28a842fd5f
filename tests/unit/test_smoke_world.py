from __future__ import annotations

from domain.registration import RegistrationStatus
from domain.users import Role
from tests.unit.world import World


async def test_an_attendee_joins_a_published_event(world: World) -> None:
    organizer = await world.user(Role.ORGANIZER)
    attendee = await world.user()
    event = await world.event(organizer, capacity=1)

    await world.join(attendee, event.id)

    (registration,) = world.registrations(event.id)
    assert registration.user_id == attendee.user_id
    assert registration.status is RegistrationStatus.CONFIRMED
    assert world.store.state.events[event.id].attendee_count == 1
