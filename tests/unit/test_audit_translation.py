"""Which facts become audit entries, and that no entry carries free text or secrets."""

from __future__ import annotations

from uuid import UUID

from adapters.uuid7 import Uuid7Generator
from application.audit import ACTIONS, AUDITED, audit_entries
from application.ports.audit import Actor
from domain.domain_events import (
    AttendeeLeft,
    AttendeeRegistered,
    DomainEvent,
    EventCancelled,
    EventCreated,
    EventDeleted,
    PasswordChanged,
    SignInFailed,
    SignInLockedOut,
    SignInRefusal,
    UserSignedUp,
)
from tests.builders import NOW, new_id

ADMIN = Actor(user_id=new_id(), ip="198.51.100.4")
_UUID_TEXT = len(str(new_id()))


def entries(*facts: DomainEvent, actor: Actor = ADMIN) -> list[tuple[str, str | None, UUID | None]]:
    return [
        (entry.action, entry.subject_type, entry.subject_id)
        for entry in audit_entries(list(facts), actor, Uuid7Generator())
    ]


def test_every_audited_fact_has_a_documented_action_and_every_action_a_fact() -> None:
    assert len(AUDITED) == len(ACTIONS) == len(set(ACTIONS))


def test_free_text_of_a_fact_never_reaches_the_details() -> None:
    event_id = new_id()
    facts: list[DomainEvent] = [
        EventCancelled(occurred_at=NOW, event_id=event_id, reason="call ada@example.org"),
        EventDeleted(occurred_at=NOW, event_id=event_id, title="Ada Lovelace's birthday"),
    ]
    found = audit_entries(facts, ADMIN, Uuid7Generator())
    assert [entry.action for entry in found] == ["event.cancelled", "event.deleted"]
    assert all(entry.details == {} for entry in found)


def test_details_hold_only_ids_and_short_codes() -> None:
    user_id, event_id = new_id(), new_id()
    facts: list[DomainEvent] = [
        SignInFailed(occurred_at=NOW, user_id=user_id, reason=SignInRefusal.WRONG_PASSWORD),
        SignInLockedOut(occurred_at=NOW, user_id=None, retry_after_seconds=840),
        PasswordChanged(occurred_at=NOW, user_id=user_id),
        AttendeeLeft(
            occurred_at=NOW,
            event_id=event_id,
            user_id=user_id,
            registration_id=new_id(),
            removed_by_organizer=True,
        ),
    ]
    for entry in audit_entries(facts, ADMIN, Uuid7Generator()):
        for value in entry.details.values():
            assert len(value) <= _UUID_TEXT
            assert "@" not in value and " " not in value


def test_leaving_on_ones_own_and_facts_without_an_audit_meaning_are_not_kept() -> None:
    user_id, event_id = new_id(), new_id()
    facts: list[DomainEvent] = [
        AttendeeLeft(
            occurred_at=NOW,
            event_id=event_id,
            user_id=user_id,
            registration_id=new_id(),
            removed_by_organizer=False,
        ),
        AttendeeRegistered(
            occurred_at=NOW,
            event_id=event_id,
            user_id=user_id,
            registration_id=new_id(),
            waitlisted=False,
        ),
        UserSignedUp(occurred_at=NOW, user_id=user_id),
        EventCreated(occurred_at=NOW, event_id=event_id, organizer_id=user_id),
    ]
    assert entries(*facts) == []


def test_the_actor_and_address_come_from_the_context_not_the_fact() -> None:
    user_id = new_id()
    [entry] = audit_entries(
        [PasswordChanged(occurred_at=NOW, user_id=user_id)], ADMIN, Uuid7Generator()
    )
    assert (entry.actor_id, entry.ip, entry.subject_id, entry.at) == (
        ADMIN.user_id,
        ADMIN.ip,
        user_id,
        NOW,
    )


def test_a_sign_in_with_an_unknown_address_names_no_subject() -> None:
    fact = SignInFailed(occurred_at=NOW, user_id=None, reason=SignInRefusal.UNKNOWN_ACCOUNT)
    assert entries(fact, actor=Actor()) == [("auth.sign_in_failed", None, None)]
