"""Every template through a real SMTP server (aiosmtpd on loopback): both parts,
the invite, escaping, Message-ID; TLS modes, refusals and timeouts of the relay;
the local sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from uuid import uuid4

import pytest
from aiosmtplib import SMTPAuthenticationError, SMTPException
from icalendar import Calendar

from adapters.mail.composer import INVITE_METHODS, MailComposer
from adapters.mail.sink import MailSink
from adapters.mail.smtp import SmtpNotifier, SmtpRelay, TlsMode, parse_smtp_url
from application.ports.notifications import (
    DeliveryRefused,
    Notification,
    NotificationKind,
    Recipient,
)
from application.ports.queries import EventView, PersonSummary
from domain.event import EventStatus
from domain.values import Location
from tests.mail_server import LOOPBACK, MailServer, self_signed_tls

Kind = NotificationKind
NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script> Rust & Python"
GRACE = Recipient(id=uuid4(), email="grace@example.org", full_name="Grace <Hopper>")
COMPOSER = MailComposer(sender="eventapi <noreply@eventapi.test>", public_url="http://api.test")


def an_event_view(status: EventStatus = EventStatus.PUBLISHED) -> EventView:
    return EventView(
        id=uuid4(),
        title=HOSTILE,
        description="<p>Talks &amp; <b>pizza</b></p>",
        location=Location(venue="c-base", address="Rungestraße 20", city="Berlin", country="DE"),
        starts_at=NOW + timedelta(days=7),
        ends_at=NOW + timedelta(days=7, hours=2),
        timezone="Europe/Berlin",
        capacity=10,
        attendee_count=3,
        waitlist_enabled=True,
        waitlist_count=0,
        status=status,
        organizer=PersonSummary(id=uuid4(), full_name="Olga Organizer"),
        sequence=4,
        revision=9,
        created_at=NOW,
        updated_at=NOW,
    )


def a_notification(kind: Kind, event: EventView | None, **details: str) -> Notification:
    return Notification(
        cause_id=uuid4(),
        kind=kind,
        recipient_id=GRACE.id,
        created_at=NOW,
        event_id=None if kind is Kind.WELCOME else (event.id if event else uuid4()),
        details=details,
    )


@pytest.fixture
async def server() -> AsyncIterator[MailServer]:
    running = MailServer()
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def notifier_for(server: MailServer, **relay: object) -> SmtpNotifier:
    settings = {"host": LOOPBACK, "port": server.port, "timeout": 5.0, **relay}
    return SmtpNotifier(SmtpRelay(**settings), COMPOSER, now=lambda: NOW)  # type: ignore[arg-type]


def parts(message: EmailMessage) -> tuple[str, str, bytes | None]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, "both parts are there"
    calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) <= 1
    invite = calendars[0].get_payload(decode=True) if calendars else None
    assert invite is None or isinstance(invite, bytes)
    return str(text.get_content()), str(html.get_content()), invite


CASES = [
    (Kind.WELCOME, {}, "Welcome to eventapi"),
    (Kind.EVENT_CREATED, {}, "was created"),
    (Kind.EVENT_PUBLISHED, {}, "is published"),
    (Kind.REGISTRATION_CONFIRMED, {}, "You have a seat"),
    (Kind.REGISTRATION_WAITLISTED, {}, "waitlist"),
    (Kind.REGISTRATION_PROMOTED, {}, "it is yours now"),
    (Kind.REGISTRATION_ENDED, {"removed_by_organizer": "false"}, "You left"),
    (Kind.REGISTRATION_ENDED, {"removed_by_organizer": "true"}, "The organizer removed you"),
    (Kind.EVENT_CHANGED, {"time_changed": "true", "place_changed": "false"}, "changed the time"),
    (Kind.EVENT_CHANGED, {"time_changed": "true", "place_changed": "true"}, "time and place"),
    (Kind.EVENT_CANCELLED, {"reason": "The <venue> flooded"}, "The <venue> flooded"),
    (Kind.EVENT_DELETED, {"title": HOSTILE}, "called off and removed"),
]


@pytest.mark.parametrize(("kind", "details", "says"), CASES)
async def test_every_template_arrives_whole_escaped_and_with_its_invite(
    server: MailServer, kind: Kind, details: dict[str, str], says: str
) -> None:
    cancelled = kind is Kind.EVENT_CANCELLED
    event = an_event_view(EventStatus.CANCELLED if cancelled else EventStatus.PUBLISHED)
    shown = None if kind in (Kind.WELCOME, Kind.EVENT_DELETED) else event
    notification = a_notification(kind, event, **details)
    notifier = notifier_for(server)

    await notifier.deliver(notification, recipient=GRACE, event=shown, message_id="<7.ab@eventapi>")
    await notifier.aclose()

    (mail,) = await server.wait_for(1)
    message = mail.message
    assert mail.recipients == ("grace@example.org",)
    assert message["Message-ID"] == "<7.ab@eventapi>"
    assert message["X-Eventapi-Notification"] == kind.value
    assert message["To"].addresses[0].display_name == "Grace Hopper"  # no specials
    text, html, invite = parts(message)
    assert says in text
    assert "Hello Grace <Hopper>," in text
    assert "Hello Grace &lt;Hopper&gt;," in html
    if kind is not Kind.WELCOME:
        assert HOSTILE in message["Subject"]
        assert HOSTILE in text
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Rust &amp; Python" in html
    if kind is Kind.EVENT_CANCELLED:
        assert "The &lt;venue&gt; flooded" in html

    if kind is Kind.WELCOME:
        assert invite is None
        return
    assert invite is not None
    calendar = Calendar.from_ical(invite)
    (entry,) = calendar.walk("VEVENT")
    expected = "CANCEL" if cancelled else INVITE_METHODS[kind]
    assert str(calendar["METHOD"]) == expected
    calendar_part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == expected
    assert str(entry["UID"]) == f"{notification.event_id}@eventapi"
    assert str(entry["SUMMARY"]) == HOSTILE
    if kind is Kind.EVENT_DELETED:
        assert entry.decoded("SEQUENCE") == 0
        assert str(entry["STATUS"]) == "CANCELLED"
        return
    assert entry.decoded("SEQUENCE") == event.sequence
    assert entry.decoded("DTSTART") == event.starts_at
    assert str(entry["STATUS"]) == ("CANCELLED" if expected == "CANCEL" else "CONFIRMED")
    if expected in ("REQUEST", "CANCEL"):
        assert str(entry["ATTENDEE"]) == "mailto:grace@example.org"
        assert str(entry["ORGANIZER"]) == "mailto:noreply@eventapi.test"


async def test_one_connection_serves_a_run_of_messages(server: MailServer) -> None:
    notifier = notifier_for(server)
    for i in range(3):
        await notifier.deliver(
            a_notification(Kind.WELCOME, None), recipient=GRACE, event=None, message_id=f"<{i}@x>"
        )
    await notifier.aclose()
    received = await server.wait_for(3)
    assert [r.message_id for r in received] == ["<0@x>", "<1@x>", "<2@x>"]


async def test_a_permanent_refusal_is_final_and_a_temporary_one_is_not(
    server: MailServer,
) -> None:
    server.refuse = {
        "gone@example.org": "550 5.1.1 no such user",
        "full@example.org": "452 4.2.2 mailbox full",
    }
    notifier = notifier_for(server)
    gone = Recipient(id=uuid4(), email="gone@example.org", full_name="Gone")
    full = Recipient(id=uuid4(), email="full@example.org", full_name="Full")
    note = a_notification(Kind.WELCOME, None)

    with pytest.raises(DeliveryRefused, match="no such user"):
        await notifier.deliver(note, recipient=gone, event=None, message_id="<1@x>")
    with pytest.raises(SMTPException) as temporary:
        await notifier.deliver(note, recipient=full, event=None, message_id="<2@x>")
    assert not isinstance(temporary.value, DeliveryRefused)
    # The relay is still usable afterwards.
    await notifier.deliver(note, recipient=GRACE, event=None, message_id="<3@x>")
    await notifier.aclose()
    assert [r.message_id for r in await server.wait_for(1)] == ["<3@x>"]


async def test_a_relay_that_never_answers_times_out() -> None:
    accepted, release, closed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await release.wait()  # never greets
        writer.close()
        await writer.wait_closed()
        closed.set()

    mute = await asyncio.start_server(silent, LOOPBACK, 0)
    port = mute.sockets[0].getsockname()[1]
    notifier = SmtpNotifier(SmtpRelay(host=LOOPBACK, port=port, timeout=0.3), COMPOSER)
    try:
        async with asyncio.timeout(5):
            with pytest.raises(SMTPException, match=r"[Tt]imed out"):
                await notifier.deliver(
                    a_notification(Kind.WELCOME, None),
                    recipient=GRACE,
                    event=None,
                    message_id="<1@x>",
                )
        assert accepted.is_set()
    finally:
        release.set()
        mute.close()
        await mute.wait_closed()
    await closed.wait()


async def test_starttls_and_implicit_tls_with_a_login(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed_tls(tmp_path)
    for mode in (TlsMode.STARTTLS, TlsMode.TLS):
        relay_server = MailServer(
            login=("mailer", "s3cret"),
            starttls=server_tls if mode is TlsMode.STARTTLS else None,
            implicit_tls=server_tls if mode is TlsMode.TLS else None,
        )
        await relay_server.start()
        try:
            relay = SmtpRelay(
                host=LOOPBACK,
                port=relay_server.port,
                tls=mode,
                username="mailer",
                password="s3cret",
                timeout=5,
            )
            notifier = SmtpNotifier(relay, COMPOSER, tls_context=client_tls)
            await notifier.deliver(
                a_notification(Kind.WELCOME, None), recipient=GRACE, event=None, message_id="<1@x>"
            )
            await notifier.aclose()
            assert len(await relay_server.wait_for(1)) == 1

            wrong = SmtpNotifier(replace(relay, password="nope"), COMPOSER, tls_context=client_tls)
            with pytest.raises(SMTPAuthenticationError):
                await wrong.deliver(
                    a_notification(Kind.WELCOME, None),
                    recipient=GRACE,
                    event=None,
                    message_id="<2@x>",
                )
        finally:
            await relay_server.stop()


def test_smtp_urls() -> None:
    assert parse_smtp_url("smtp://mail.example.org") == SmtpRelay(host="mail.example.org", port=25)
    assert parse_smtp_url("smtp://u%40x:p%3Aw@relay:2525?starttls=1&timeout=5") == SmtpRelay(
        host="relay",
        port=2525,
        tls=TlsMode.STARTTLS,
        username="u@x",
        password="p:w",
        timeout=5.0,
    )
    assert parse_smtp_url("smtp://relay?starttls=true").port == 587
    assert parse_smtp_url("smtps://relay").port == 465
    assert parse_smtp_url("smtps://relay").tls is TlsMode.TLS
    assert "p:w" not in repr(parse_smtp_url("smtp://u:p%3Aw@relay"))
    assert parse_smtp_url("smtp://relay?starttls=off").tls is TlsMode.NONE
    bad_urls = ("http://relay", "smtp://", "smtp://relay:x", "smtp://relay?timeout=0")
    # A starttls that is neither on nor off, or a misspelt parameter, never means plaintext.
    refused = ("smtp://relay?starttls=required", "smtp://relay?starttls=", "smtp://relay?startls=1")
    for bad in bad_urls + refused:
        with pytest.raises(ValueError, match="SMTP"):
            parse_smtp_url(bad)


async def test_the_sink_keeps_one_file_per_message_id(tmp_path: Path) -> None:
    sink = MailSink(tmp_path / "mail", COMPOSER, now=lambda: NOW)
    event = an_event_view()
    confirmed = a_notification(Kind.REGISTRATION_CONFIRMED, event)
    await sink.deliver(confirmed, recipient=GRACE, event=event, message_id="<5.c0ffee@eventapi>")
    await sink.deliver(confirmed, recipient=GRACE, event=event, message_id="<5.c0ffee@eventapi>")
    await sink.deliver(
        a_notification(Kind.WELCOME, None),
        recipient=GRACE,
        event=None,
        message_id="<6.beef@eventapi>",
    )

    listed = sink.messages()
    assert [m.message_id for m in listed] == ["<5.c0ffee@eventapi>", "<6.beef@eventapi>"]
    assert [m.path.name for m in listed] == ["5.c0ffee@eventapi.eml", "6.beef@eventapi.eml"]
    assert listed[0].subject == f"You're in: {HOSTILE}"
    assert "grace@example.org" in listed[0].to
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == [m.path.name for m in listed]
