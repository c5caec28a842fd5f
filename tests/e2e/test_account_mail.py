"""The reset and verification mails, received by a real SMTP server (aiosmtpd on
loopback) from the real worker, and the link in them used over HTTP: on SQLite
and PostgreSQL.

The mail server runs on the app's loop (`Api.run`): the test's own loop is
blocked while the worker delivers there.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID, uuid4

import pytest
from dependency_injector import providers
from sqlalchemy import select

from adapters.mail.smtp import SmtpNotifier, SmtpRelay
from adapters.sql.tables import outbox
from application.ports.notifications import Notification, NotificationKind
from tests.e2e.conftest import API, PASSWORD, Api, assert_problem
from tests.mail_server import LOOPBACK, MailServer

PUBLIC_URL = "https://events.example.test"
NEW_PASSWORD = "a passphrase that came by mail"


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_PUBLIC_URL": PUBLIC_URL}


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


def deliver(api: Api) -> None:
    worker = api.container.deliver_notifications()
    api.run(worker.execute)


def received(api: Api, server: MailServer, count: int) -> list[EmailMessage]:
    return [each.message for each in api.run(lambda: server.wait_for(count, within=10))]


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None, "both parts"
    return str(text.get_content()), str(html.get_content())


def link_token(body: str, page: str) -> str:
    found = re.findall(rf"{re.escape(PUBLIC_URL)}/{page}#token=([A-Za-z0-9_-]+)", body)
    assert found, f"no {page} link in:\n{body}"
    assert len(set(found)) == 1
    return str(found[0])


def outbox_details(api: Api) -> list[dict[str, str]]:
    engine = api.container.engine()

    async def read() -> list[dict[str, str]]:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(outbox.c.details))).all()
        return [dict(row.details) for row in rows]

    return api.run(read)


async def test_a_mailed_reset_link_resets_the_password(api: Api, mail: MailServer) -> None:
    alice = await api.user(name="alice")
    deliver(api)  # the welcome mail
    received(api, mail, 1)

    asked = await api.client.post(f"{API}/auth/password-reset", json={"email": alice.email})
    assert asked.status_code == 202
    deliver(api)

    reset_mail = received(api, mail, 2)[-1]
    assert reset_mail["To"].addresses[0].addr_spec == alice.email
    assert reset_mail["X-Eventapi-Notification"] == "password_reset"
    assert "password" in reset_mail["Subject"].lower()
    text, html = parts(reset_mail)
    token = link_token(text, "reset-password")
    assert link_token(html, "reset-password") == token
    # Delivered: the outbox no longer holds the token (only its digest is kept elsewhere).
    assert all(token not in repr(details) for details in outbox_details(api))

    done = await api.client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )

    assert done.status_code == 204, done.text
    old = await api.token(grant_type="password", username=alice.email, password=PASSWORD)
    assert old.status_code == 400
    assert (await api.sign_in("alice", alice.email, NEW_PASSWORD)).access_token


async def test_the_welcome_mail_link_verifies_the_address(api: Api, mail: MailServer) -> None:
    bob = await api.user(name="bob")
    deliver(api)

    [welcome] = received(api, mail, 1)

    assert welcome["X-Eventapi-Notification"] == "welcome"
    text, html = parts(welcome)
    token = link_token(text, "verify-email")
    assert link_token(html, "verify-email") == token
    verified = await api.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 204, verified.text
    me = await api.client.get(f"{API}/users/me", headers=bob.headers)
    assert me.json()["email_verified"] is True
    again = await api.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert_problem(again, 400, "/problems/invalid-token")


class TestVerifiedEmailRequired:
    """With EVENTAPI_REQUIRE_VERIFIED_EMAIL=on, an unverified address gets the
    verification and reset mails and nothing else (skipped at delivery)."""

    @pytest.fixture
    def settings_overrides(self) -> Mapping[str, str]:
        return {"EVENTAPI_PUBLIC_URL": PUBLIC_URL, "EVENTAPI_REQUIRE_VERIFIED_EMAIL": "on"}

    async def test_only_verification_and_reset_mail_reach_an_unverified_address(
        self, api: Api, mail: MailServer
    ) -> None:
        olga = await api.user(name="olga")  # welcome: carries the verification link
        await api.client.post(f"{API}/auth/password-reset", json={"email": olga.email})
        resent = await api.client.post(f"{API}/auth/verify-email/resend", headers=olga.headers)
        assert resent.status_code == 202
        # Any other mail (as one queued before the setting was turned on) is skipped.
        other = Notification(
            cause_id=uuid4(),
            kind=NotificationKind.REGISTRATION_PROMOTED,
            recipient_id=UUID(olga.user_id),
            created_at=datetime.now(UTC),
        )
        uow = api.container.uow()

        async def queue() -> None:
            async with uow() as unit:
                await unit.outbox.add(other)
                await unit.commit()

        api.run(queue)
        deliver(api)

        kinds = sorted(m["X-Eventapi-Notification"] for m in received(api, mail, 3))
        assert kinds == ["email_verification", "password_reset", "welcome"]
        errors = outbox_errors(api)
        assert errors.count(None) == 3
        assert [each for each in errors if each is not None] == [NOT_VERIFIED]


NOT_VERIFIED = "not sent: the recipient's address is not verified"


def outbox_errors(api: Api) -> list[str | None]:
    engine = api.container.engine()

    async def read() -> list[str | None]:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(outbox.c.status, outbox.c.last_error))).all()
        assert {row.status for row in rows} == {"sent"}
        return [row.last_error for row in rows]

    return api.run(read)
