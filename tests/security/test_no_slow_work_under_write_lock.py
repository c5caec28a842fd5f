"""Finding 3 (issue 9): no use case runs bcrypt, SMTP or HTTP while it holds a
write lock.

`UpdateOwnProfile` checked the current password and hashed the new one inside
its unit of work: on SQLite that is `BEGIN IMMEDIATE`, the database's single
write lock, so one user changing a password six times at once pushed everyone
else's join from 20 ms to 1.9 s median.

Every use case whose constructor takes a password hasher, the password checks,
a notifier or a geocoder is found by its type hints, built from in-memory
adapters whose slow collaborators fail the test if they are called while a
write unit of work (or any memory transaction) is open, and run through the
path that calls them. A new use case of that kind fails the test until it has a
scenario here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import application.use_cases
from adapters.bcrypt_hasher import BcryptHasher
from adapters.common_passwords import CommonPasswordSet
from adapters.html_sanitizer import Nh3Sanitizer
from adapters.memory.delivery import MemoryEventLocations, MemoryOutboxQueue
from adapters.memory.fakes import FixedClock, OpaqueTokenService
from adapters.memory.queries import MemoryEventQueries, MemoryRegistrationQueries, MemoryUserQueries
from adapters.memory.rate_limiter import MemoryRateLimiter
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWork, MemoryUnitOfWorkFactory
from adapters.uuid7 import Uuid7Generator
from application.delivery_policy import DeliveryPolicy
from application.event_input import LocationInput, WindowInput
from application.password_checks import PasswordChecks
from application.ports.delivery import OutboxQueue
from application.ports.geocoder import EventLocations, Geocoder
from application.ports.notifications import Notification, Notifier, Recipient
from application.ports.queries import EventQueries, EventView, RegistrationQueries, UserQueries
from application.ports.rate_limiter import RateLimiter
from application.ports.security import (
    CommonPasswords,
    HtmlSanitizer,
    PasswordHasher,
    TokenService,
)
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from application.use_cases.create_event import CreateEvent, CreateEventCommand
from application.use_cases.sign_in import SignInCommand
from application.use_cases.sign_up import SignUp, SignUpCommand
from application.use_cases.update_own_profile import UpdateOwnProfileCommand
from domain.users import Role
from domain.values import Coordinates, PasswordPolicy

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "an entirely different passphrase"
ADDRESS = "Rungestraße 20"


class Watch:
    """How many write units of work are open right now; the slow fakes ask it."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.open_writes = 0
        self.calls: list[str] = []

    def slow_call(self, what: str) -> None:
        assert self.open_writes == 0, f"{what} ran inside a write unit of work"
        assert not self.store.lock.locked(), f"{what} ran inside a memory transaction"
        self.calls.append(what)


class WatchedUnitOfWork(MemoryUnitOfWork):
    def __init__(self, store: MemoryStore, watch: Watch, *, writes: bool) -> None:
        super().__init__(store, Uuid7Generator())
        self._watch = watch
        self._writes = writes

    async def __aenter__(self) -> Self:
        entered = await super().__aenter__()
        self._watch.open_writes += self._writes
        return entered

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._watch.open_writes -= self._writes
        await super().__aexit__(exc_type, exc, tb)


class WatchedUnitOfWorkFactory(MemoryUnitOfWorkFactory):
    def __init__(self, store: MemoryStore, watch: Watch) -> None:
        super().__init__(store)
        self._store_ = store
        self._watch = watch

    def __call__(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return WatchedUnitOfWork(self._store_, self._watch, writes=not read_only)


class WatchedHasher(PasswordHasher):
    """bcrypt (cheap rounds) that must not run under a write lock; it always asks
    for a rehash, so sign-in's rehash path runs too."""

    def __init__(self, watch: Watch) -> None:
        self._watch = watch
        self._real = BcryptHasher(b"p" * 32, rounds=4)

    async def hash(self, password: str) -> str:
        self._watch.slow_call("bcrypt hash")
        return await self._real.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        self._watch.slow_call("bcrypt verify")
        return await self._real.verify(password, password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        return True


class WatchedNotifier(Notifier):
    def __init__(self, watch: Watch) -> None:
        self._watch = watch

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None:
        self._watch.slow_call("SMTP delivery")


class WatchedGeocoder(Geocoder):
    def __init__(self, watch: Watch) -> None:
        self._watch = watch

    async def locate(self, address: str) -> Coordinates | None:
        self._watch.slow_call("geocoder HTTP")
        return Coordinates(latitude=52.5, longitude=13.4)


SLOW = (PasswordHasher, PasswordChecks, Notifier, Geocoder)


class Scene:
    """In-memory adapters, the watched fakes, and any use case built from them."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.watch = Watch(self.store)
        self.clock = FixedClock()
        hasher = WatchedHasher(self.watch)
        self.provided: dict[Any, Any] = {
            UnitOfWorkFactory: WatchedUnitOfWorkFactory(self.store, self.watch),
            PasswordHasher: hasher,
            PasswordChecks: PasswordChecks(hasher, MemoryRateLimiter()),
            RateLimiter: MemoryRateLimiter(),
            Notifier: WatchedNotifier(self.watch),
            Geocoder: WatchedGeocoder(self.watch),
            Clock: self.clock,
            IdGenerator: Uuid7Generator(),
            TokenService: OpaqueTokenService(),
            CommonPasswords: CommonPasswordSet(()),
            PasswordPolicy: PasswordPolicy(),
            HtmlSanitizer: Nh3Sanitizer(),
            OutboxQueue: MemoryOutboxQueue(self.store),
            EventLocations: MemoryEventLocations(self.store),
            UserQueries: MemoryUserQueries(self.store),
            EventQueries: MemoryEventQueries(self.store),
            RegistrationQueries: MemoryRegistrationQueries(self.store),
            DeliveryPolicy: DeliveryPolicy(),
        }

    def build(self, use_case: type[Any]) -> Any:
        arguments = {}
        for name, parameter in _parameters(use_case).items():
            if parameter.annotation in self.provided:
                arguments[name] = self.provided[parameter.annotation]
            elif parameter.default is inspect.Parameter.empty:
                # A use case built on another one (CreateUser on SignUp).
                arguments[name] = self.build(parameter.annotation)
        return use_case(**arguments)

    async def person(self, role: Role = Role.ATTENDEE) -> tuple[Principal, str]:
        email = f"{len(self.store.state.users)}@example.org"
        command = SignUpCommand(email=email, password=PASSWORD, full_name="Ada Lovelace")
        view = await self.build(SignUp).open_account(command, role)
        return Principal(user_id=view.id, role=role), email


def _parameters(use_case: type[Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(use_case, eval_str=True).parameters)


def _takes_slow_collaborator(use_case: type[Any]) -> bool:
    return any(parameter.annotation in SLOW for parameter in _parameters(use_case).values())


def use_cases_with_slow_collaborators() -> set[str]:
    found = set()
    for module_info in pkgutil.iter_modules(application.use_cases.__path__):
        module = importlib.import_module(f"application.use_cases.{module_info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and value.__module__ == module.__name__
                and hasattr(value, "execute")
                and _takes_slow_collaborator(value)
            ):
                found.add(name)
    return found


# -- one scenario per use case: the path that calls the slow collaborator -------------------


async def sign_up(scene: Scene) -> None:
    await scene.person()


async def sign_in(scene: Scene) -> None:
    _, email = await scene.person()
    use_case = scene.build(_use_case("sign_in", "SignInWithPassword"))
    await use_case.execute(SignInCommand(email=email, password=PASSWORD))


async def update_own_profile(scene: Scene) -> None:
    actor, _ = await scene.person()
    use_case = scene.build(_use_case("update_own_profile", "UpdateOwnProfile"))
    await use_case.execute(
        UpdateOwnProfileCommand(
            actor=actor, full_name="Ada King", password=NEW_PASSWORD, current_password=PASSWORD
        )
    )


async def deliver_notifications(scene: Scene) -> None:
    await scene.person()  # queues a welcome mail
    report = await scene.build(_use_case("deliver_notifications", "DeliverNotifications")).execute()
    assert report.claimed >= 1


async def locate_events(scene: Scene) -> None:
    organizer, _ = await scene.person(Role.ORGANIZER)
    starts = scene.clock.now() + timedelta(days=7)
    await scene.build(CreateEvent).execute(
        CreateEventCommand(
            actor=organizer,
            title="PyCon meetup",
            window=WindowInput(
                starts_at=starts, ends_at=starts + timedelta(hours=2), timezone="Europe/Berlin"
            ),
            capacity=10,
            location=LocationInput(venue="c-base", address=ADDRESS, city="Berlin", country="DE"),
        )
    )
    report = await scene.build(_use_case("locate_events", "LocateEvents")).execute()
    assert report.located == 1


async def reset_password(scene: Scene) -> None:
    _, email = await scene.person()
    ask = scene.build(_use_case("request_password_reset", "RequestPasswordReset"))
    await ask.execute(
        _use_case("request_password_reset", "RequestPasswordResetCommand")(email=email)
    )
    [token] = [
        n.details["token"] for n in scene.store.state.outbox if n.kind.value == "password_reset"
    ]
    use_case = scene.build(_use_case("reset_password", "ResetPassword"))
    await use_case.execute(
        _use_case("reset_password", "ResetPasswordCommand")(token=token, password=NEW_PASSWORD)
    )


def _use_case(module: str, name: str) -> type[Any]:
    found: type[Any] = getattr(importlib.import_module(f"application.use_cases.{module}"), name)
    return found


SCENARIOS: dict[str, tuple[Callable[[Scene], Awaitable[None]], set[str]]] = {
    "SignUp": (sign_up, {"bcrypt hash"}),
    "SignInWithPassword": (sign_in, {"bcrypt verify", "bcrypt hash"}),
    "UpdateOwnProfile": (update_own_profile, {"bcrypt verify", "bcrypt hash"}),
    "ResetPassword": (reset_password, {"bcrypt hash"}),
    "DeliverNotifications": (deliver_notifications, {"SMTP delivery"}),
    "LocateEvents": (locate_events, {"geocoder HTTP"}),
}


def test_every_use_case_with_a_slow_collaborator_has_a_scenario() -> None:
    assert use_cases_with_slow_collaborators() == set(SCENARIOS)


async def test_no_use_case_calls_bcrypt_smtp_or_http_under_a_write_lock() -> None:
    for name, (scenario, expected) in SCENARIOS.items():
        scene = Scene()
        await scenario(scene)
        assert expected <= set(scene.watch.calls), (name, scene.watch.calls)
