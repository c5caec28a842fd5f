"""Password reset and e-mail verification on the memory adapters: the use cases,
the facts they record, and what the worker does with the mails they queue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.common_passwords import CommonPasswordSet
from adapters.html_sanitizer import Nh3Sanitizer
from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.fakes import RecordingNotifier
from adapters.memory.rate_limiter import MemoryRateLimiter
from application.delivery_policy import DeliveryPolicy
from application.errors import EmailUnverified, TooManyAttempts
from application.event_input import WindowInput
from application.ports.notifications import NotificationKind
from application.ports.rate_limiter import Rate
from application.principal import Principal
from application.use_cases.create_event import CreateEvent, CreateEventCommand
from application.use_cases.deliver_notifications import DeliverNotifications, Outcome
from application.use_cases.register_for_event import (
    RegisterForEvent,
    RegisterForEventCommand,
)
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.resend_verification import (
    ResendVerification,
    ResendVerificationCommand,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.domain_events import PasswordReset, PasswordResetRequested, UserSignedUp
from domain.errors import InvalidToken
from domain.users import AccountToken, Role, TokenPurpose
from tests.builders import NOW, a_user
from tests.unit.people import person
from tests.unit.world import COMMON, World

Kind = NotificationKind
NEW_PASSWORD = "a brand new passphrase here"


class Recovery:
    def __init__(self, world: World, rate: Rate | None = None) -> None:
        self.world = world
        uow, tokens, clock = world.uow, world.tokens, world.clock
        self.ask = RequestPasswordReset(
            uow, tokens, MemoryRateLimiter(), clock, rate=rate, minimum_duration=0
        )
        self.reset = ResetPassword(
            uow, world.hasher, CommonPasswordSet(COMMON), world.policy, tokens, clock
        )
        self.verify = VerifyEmail(uow, tokens, clock)
        self.resend = ResendVerification(uow, tokens, clock)

    def token(self, kind: Kind, who: Principal) -> str:
        found = [
            n.details
            for n in self.world.outbox()
            if n.kind is kind and n.recipient_id == who.user_id
        ]
        return found[-1]["token"]


async def email_of(world: World, who: Principal) -> str:
    return (await world.user_view(who.user_id)).email


async def test_a_reset_replaces_the_password_ends_sessions_and_verifies(world: World) -> None:
    ada = await person(world)
    recovery = Recovery(world)
    await recovery.ask.execute(RequestPasswordResetCommand(email=await email_of(world, ada)))
    token = recovery.token(Kind.PASSWORD_RESET, ada)

    await recovery.reset.execute(ResetPasswordCommand(token=token, password=NEW_PASSWORD))

    user = world.store.state.users[ada.user_id]
    assert await world.hasher.verify(NEW_PASSWORD, user.password_hash)
    assert user.email_verified
    assert all(s.revoked_at is not None for s in world.store.state.sessions.values())
    with pytest.raises(InvalidToken):
        await recovery.reset.execute(ResetPasswordCommand(token=token, password=NEW_PASSWORD))


async def test_unknown_malformed_and_inactive_addresses_queue_nothing(world: World) -> None:
    recovery = Recovery(world)
    before = list(world.outbox())
    for email in ("nobody@example.org", "not an address"):
        await recovery.ask.execute(RequestPasswordResetCommand(email=email))
    assert world.outbox() == before
    assert world.store.state.account_tokens == {}


async def test_the_account_budget_is_spent_by_unknown_addresses_too(world: World) -> None:
    recovery = Recovery(world, rate=Rate("password-reset-account", 2, 3600))
    known = await email_of(world, await person(world))
    for email in (known, "nobody@example.org"):
        for _ in range(2):
            await recovery.ask.execute(RequestPasswordResetCommand(email=email))
        with pytest.raises(TooManyAttempts):
            await recovery.ask.execute(RequestPasswordResetCommand(email=email.upper()))


async def test_tokens_expire(world: World) -> None:
    ada = await person(world)
    recovery = Recovery(world)
    await recovery.ask.execute(RequestPasswordResetCommand(email=await email_of(world, ada)))
    token = recovery.token(Kind.PASSWORD_RESET, ada)
    world.clock.advance(timedelta(minutes=30))
    with pytest.raises(InvalidToken):
        await recovery.reset.execute(ResetPasswordCommand(token=token, password=NEW_PASSWORD))


async def test_verification_at_sign_up_and_by_resend(world: World) -> None:
    ada = await person(world)
    recovery = Recovery(world)
    first = recovery.token(Kind.WELCOME, ada)
    await recovery.resend.execute(ResendVerificationCommand(actor=ada))
    second = recovery.token(Kind.EMAIL_VERIFICATION, ada)

    with pytest.raises(InvalidToken):  # voided by the newer one
        await recovery.verify.execute(VerifyEmailCommand(token=first))
    await recovery.verify.execute(VerifyEmailCommand(token=second))

    assert (await world.user_view(ada.user_id)).email_verified
    queued = len(world.outbox())
    await recovery.resend.execute(ResendVerificationCommand(actor=ada))
    assert len(world.outbox()) == queued  # verified: nothing to send


async def test_verification_tokens_last_48_hours(world: World) -> None:
    ada = await person(world)
    recovery = Recovery(world)
    token = recovery.token(Kind.WELCOME, ada)
    world.clock.advance(timedelta(hours=48))
    with pytest.raises(InvalidToken):
        await recovery.verify.execute(VerifyEmailCommand(token=token))


async def test_requiring_a_verified_address_for_joining_and_creating(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    ann = await person(world)
    register = RegisterForEvent(world.uow, world.clock, world.ids, require_verified_email=True)
    create = CreateEvent(
        world.uow,
        world.event_queries,
        Nh3Sanitizer(),
        world.clock,
        world.ids,
        require_verified_email=True,
    )

    with pytest.raises(EmailUnverified):
        await register.execute(RegisterForEventCommand(actor=ann, event_id=event.id))
    with pytest.raises(EmailUnverified):
        await _create(create, organizer)

    recovery = Recovery(world)
    await recovery.verify.execute(VerifyEmailCommand(token=recovery.token(Kind.WELCOME, ann)))
    await register.execute(RegisterForEventCommand(actor=ann, event_id=event.id))


async def _create(create: CreateEvent, organizer: Principal) -> None:
    starts = NOW + timedelta(days=30)
    await create.execute(
        CreateEventCommand(
            actor=organizer,
            title="Gated",
            window=WindowInput(
                starts_at=starts, ends_at=starts + timedelta(hours=1), timezone="UTC"
            ),
            capacity=5,
        )
    )


def delivering(
    world: World, *, require_verified: bool
) -> tuple[DeliverNotifications, RecordingNotifier]:
    notifier = RecordingNotifier()
    worker = DeliverNotifications(
        MemoryOutboxQueue(world.store),
        notifier,
        world.user_queries,
        world.event_queries,
        world.clock,
        DeliveryPolicy(require_verified_email=require_verified),
    )
    return worker, notifier


async def test_with_verification_required_only_account_mail_reaches_unverified(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    await Recovery(world).ask.execute(
        RequestPasswordResetCommand(email=await email_of(world, organizer))
    )
    await world.event(organizer)  # event_created to an unverified organizer
    worker, notifier = delivering(world, require_verified=True)

    report = await worker.execute()

    sent = sorted(d.notification.kind.value for d in notifier.delivered)
    assert sent == ["password_reset", "welcome"]
    assert report.count(Outcome.SKIPPED) == report.claimed - 2


async def test_an_expired_link_is_not_mailed_and_a_late_welcome_goes_without_it(
    world: World,
) -> None:
    ada = await person(world)
    await Recovery(world).ask.execute(RequestPasswordResetCommand(email=await email_of(world, ada)))
    world.clock.advance(timedelta(hours=49))
    worker, notifier = delivering(world, require_verified=False)

    report = await worker.execute()

    [welcome] = [d.notification for d in notifier.delivered]
    assert welcome.kind is Kind.WELCOME
    assert "token" not in welcome.details
    assert report.count(Outcome.SKIPPED) == 1
    # Settled rows keep no token.
    assert all("token" not in n.details for n in world.outbox())


def test_facts_and_tokens_never_show_the_raw_token() -> None:
    user = a_user()
    user.request_password_reset(token="raw-secret", expires_at=NOW, now=NOW)
    user.reset_password("$2b$04$x", NOW)
    facts = user.pull_recorded()
    assert [type(f) for f in facts] == [PasswordResetRequested, PasswordReset]
    assert "raw-secret" not in repr(facts)
    signed_up = UserSignedUp(occurred_at=NOW, user_id=user.id, verification_token="raw-secret")
    assert "raw-secret" not in repr(signed_up)


def test_a_token_is_redeemed_once_for_its_purpose_before_it_expires() -> None:
    token = AccountToken(
        digest="d",
        user_id=a_user().id,
        purpose=TokenPurpose.PASSWORD_RESET,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=30),
    )
    with pytest.raises(InvalidToken):
        token.redeem(TokenPurpose.EMAIL_VERIFICATION, NOW)
    with pytest.raises(InvalidToken):
        token.redeem(TokenPurpose.PASSWORD_RESET, NOW + timedelta(minutes=30))
    token.redeem(TokenPurpose.PASSWORD_RESET, NOW)
    with pytest.raises(InvalidToken):
        token.redeem(TokenPurpose.PASSWORD_RESET, NOW)
