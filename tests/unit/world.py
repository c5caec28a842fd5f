"""Every use case wired to the in-memory adapters, with helpers to set a scene.

Tests assert on state (what the store holds, what the outbox queued), never on
the shape of calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from adapters.bcrypt_hasher import BcryptHasher
from adapters.common_passwords import CommonPasswordSet
from adapters.html_sanitizer import Nh3Sanitizer
from adapters.memory.fakes import FixedClock, OpaqueTokenService
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.memory.queries import (
    MemoryCallerQueries,
    MemoryEventQueries,
    MemoryRegistrationQueries,
    MemoryUserQueries,
)
from adapters.memory.rate_limiter import MemoryRateLimiter
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.uuid7 import Uuid7Generator
from application.event_input import LocationInput, WindowInput
from application.password_checks import PasswordChecks
from application.ports.notifications import Notification
from application.ports.queries import EventView, PageRequest, UserView
from application.principal import Principal
from application.reminders import ReminderSchedule
from application.use_cases.cancel_event import CancelEvent
from application.use_cases.close_own_account import CloseOwnAccount
from application.use_cases.create_event import CreateEvent, CreateEventCommand
from application.use_cases.create_user import CreateUser
from application.use_cases.delete_event import DeleteEvent
from application.use_cases.delete_user import DeleteUser
from application.use_cases.get_event import GetEvent
from application.use_cases.get_user import GetUser
from application.use_cases.identify_caller import IdentifyCaller
from application.use_cases.leave_event import LeaveEvent
from application.use_cases.list_attendees import ListAttendees
from application.use_cases.list_my_registrations import ListMyRegistrations
from application.use_cases.list_users import ListUsers
from application.use_cases.refresh_session import RefreshSession
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from application.use_cases.remove_attendee import RemoveAttendee
from application.use_cases.revoke_token import RevokeToken
from application.use_cases.search_events import SearchEvents
from application.use_cases.sign_in import SignInWithPassword
from application.use_cases.sign_up import SignUp, SignUpCommand
from application.use_cases.update_event import UpdateEvent
from application.use_cases.update_own_profile import UpdateOwnProfile
from application.use_cases.update_user import UpdateUser
from domain.event import EventStatus
from domain.registration import Registration
from domain.users import Role
from domain.values import PasswordPolicy

PASSWORD = "correct horse battery staple"
COMMON = ("password1234", "123456789012", "qwertyuiopas")


@dataclass
class World:
    store: MemoryStore = field(default_factory=MemoryStore)
    clock: FixedClock = field(default_factory=FixedClock)
    ids: Uuid7Generator = field(default_factory=Uuid7Generator)
    tokens: OpaqueTokenService = field(default_factory=OpaqueTokenService)
    hasher: BcryptHasher = field(default_factory=lambda: BcryptHasher(b"p" * 32, rounds=4))
    limiter: MemoryRateLimiter = field(default_factory=MemoryRateLimiter)
    policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    #: None: the units of work queue no reminders (tests/unit/test_reminders.py sets one).
    reminders: ReminderSchedule | None = None

    def __post_init__(self) -> None:
        uow = MemoryUnitOfWorkFactory(self.store, self.ids, reminders=self.reminders)
        common = CommonPasswordSet(COMMON)
        sanitizer = Nh3Sanitizer()
        self.uow = uow
        self.event_queries = MemoryEventQueries(self.store)
        self.registration_queries = MemoryRegistrationQueries(self.store)
        self.user_queries = MemoryUserQueries(self.store)
        c, ids = self.clock, self.ids
        self.passwords = PasswordChecks(self.hasher, self.limiter)
        self.sign_up = SignUp(uow, self.hasher, common, self.policy, c, ids, self.tokens)
        self.sign_in = SignInWithPassword(uow, self.hasher, self.tokens, self.passwords, c, ids)
        self.refresh = RefreshSession(uow, self.tokens, c)
        self.revoke = RevokeToken(uow, self.tokens, c)
        self.identify = IdentifyCaller(MemoryCallerQueries(self.store), self.tokens, c)
        self.get_user = GetUser(self.user_queries)
        self.update_own_profile = UpdateOwnProfile(
            uow, self.hasher, common, self.policy, c, self.passwords
        )
        self.idempotency = MemoryIdempotencyStore(self.store)
        self.close_own_account = CloseOwnAccount(uow, c, self.idempotency)
        self.list_users = ListUsers(self.user_queries)
        self.create_user = CreateUser(self.sign_up)
        self.update_user = UpdateUser(uow, c)
        self.delete_user = DeleteUser(uow, c, self.idempotency)
        self.create_event = CreateEvent(uow, self.event_queries, sanitizer, c, ids)
        self.update_event = UpdateEvent(uow, self.event_queries, sanitizer, c)
        self.cancel_event = CancelEvent(uow, self.event_queries, c)
        self.delete_event = DeleteEvent(uow, c)
        self.get_event = GetEvent(self.event_queries)
        self.search_events = SearchEvents(self.event_queries)
        self.register = RegisterForEvent(uow, c, ids)
        self.leave = LeaveEvent(uow, c)
        self.remove_attendee = RemoveAttendee(uow, c)
        self.list_attendees = ListAttendees(self.event_queries, self.registration_queries)
        self.list_my_registrations = ListMyRegistrations(self.registration_queries, c)

    # -- scenes ---------------------------------------------------------------------------

    async def user(self, role: Role = Role.ATTENDEE, name: str = "Ada Lovelace") -> Principal:
        """A new active user with `role`, as a signed-in principal."""
        email = f"{uuid4().hex}@example.org"
        view = await self.sign_up.open_account(
            SignUpCommand(email=email, password=PASSWORD, full_name=name), role
        )
        return Principal(user_id=view.id, role=role)

    async def event(
        self,
        organizer: Principal,
        *,
        capacity: int = 10,
        waitlist: bool = False,
        status: EventStatus = EventStatus.PUBLISHED,
        starts_in: timedelta = timedelta(days=7),
        hours: int = 2,
        title: str = "PyCon meetup",
        city: str = "Berlin",
    ) -> EventView:
        starts_at = self.clock.now() + starts_in
        return await self.create_event.execute(
            CreateEventCommand(
                actor=organizer,
                title=title,
                window=WindowInput(
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=hours),
                    timezone="Europe/Berlin",
                ),
                capacity=capacity,
                location=LocationInput(venue="c-base", city=city, country="DE"),
                waitlist_enabled=waitlist,
                status=status,
            )
        )

    async def join(self, actor: Principal, event_id: UUID) -> None:
        await self.register.execute(RegisterForEventCommand(actor=actor, event_id=event_id))

    # -- reading the state ----------------------------------------------------------------

    def registrations(self, event_id: UUID) -> list[Registration]:
        regs = self.store.state.registrations.values()
        return sorted((r for r in regs if r.event_id == event_id), key=lambda r: r.created_at)

    def outbox(self) -> list[Notification]:
        return list(self.store.state.outbox)

    async def user_view(self, user_id: UUID) -> UserView:
        view = await self.user_queries.get(user_id)
        assert view is not None
        return view

    @staticmethod
    def page(limit: int = 100) -> PageRequest:
        return PageRequest(limit=limit)

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)
