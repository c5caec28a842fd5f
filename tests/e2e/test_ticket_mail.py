"""The ticket mails end to end, on SQLite and PostgreSQL: joins over HTTP, the
container's worker, a real SMTP server on loopback (aiosmtpd). The confirmation and
the promotion carry the code the API shows, as text and as an inline QR code of it;
the waitlist mail carries none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
import segno
from dependency_injector import providers
from sqlalchemy import func, select

from adapters.mail.smtp import SmtpNotifier, SmtpRelay
from adapters.sql.tables import outbox
from domain.users import Role
from tests.e2e.conftest import API, Api, Caller
from tests.integration.test_ticket_mail import modules
from tests.mail_server import LOOPBACK, MailServer


@pytest.fixture
async def mail(api: Api) -> AsyncIterator[MailServer]:
    """An SMTP server on the app's loop, which the container's worker delivers to."""
    server = MailServer()
    api.run(server.start)
    relay = SmtpRelay(host=LOOPBACK, port=server.port, timeout=5)
    api.container.notifier.override(
        providers.Object(SmtpNotifier(relay, api.container.mail_composer()))
    )
    try:
        yield server
    finally:
        api.container.notifier.reset_override()
        api.run(server.stop)


def deliver_all(api: Api, server: MailServer) -> list[EmailMessage]:
    """Run the real worker once, and every message the server has received so far."""
    worker = api.container.deliver_notifications()
    api.run(worker.execute)
    engine = api.container.engine()

    async def sent() -> int:
        async with engine.connect() as connection:
            statement = select(func.count()).where(outbox.c.status == "sent")
            return int((await connection.execute(statement)).scalar_one())

    count = api.run(sent)
    return [each.message for each in api.run(lambda: server.wait_for(count, within=10))]


def the_mail(messages: list[EmailMessage], kind: str, to: Caller) -> EmailMessage:
    (found,) = [
        m
        for m in messages
        if m["X-Eventapi-Notification"] == kind and m["To"].addresses[0].addr_spec == to.email
    ]
    return found


def ticket_in(message: EmailMessage) -> tuple[str, str, bytes | None]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    png = images[0].get_payload(decode=True) if images else None
    assert png is None or isinstance(png, bytes)
    return str(text.get_content()), str(html.get_content()), png


async def test_the_confirmation_and_the_promotion_mail_the_ticket(
    api: Api, mail: MailServer
) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest, waiting = await api.user(name="guest"), await api.user(name="waiting")
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    code = (await api.join(guest, event["id"]))["ticket_code"]
    await api.join(waiting, event["id"])

    messages = deliver_all(api, mail)

    text, html, png = ticket_in(the_mail(messages, "registration_confirmed", guest))
    assert code in text and code in html and png is not None
    assert modules(png) == [[bool(m) for m in row] for row in segno.make_qr(code, error="m").matrix]
    assert code not in repr(api.snapshot()["outbox"])  # added at delivery, never stored
    text, html, png = ticket_in(the_mail(messages, "registration_waitlisted", waiting))
    assert "Your ticket" not in text and png is None

    left = await api.client.delete(
        f"{API}/events/{event['id']}/registrations/me", headers=guest.headers
    )
    assert left.status_code == 204
    mine = await api.client.get(f"{API}/users/me/registrations", headers=waiting.headers)
    promoted_code = mine.json()["items"][0]["ticket_code"]
    messages = deliver_all(api, mail)

    text, html, png = ticket_in(the_mail(messages, "registration_promoted", waiting))
    assert promoted_code in text and promoted_code in html and png is not None
    expected = segno.make_qr(promoted_code, error="m").matrix
    assert modules(png) == [[bool(m) for m in row] for row in expected]
