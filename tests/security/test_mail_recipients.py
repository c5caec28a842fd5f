"""Every mail goes to exactly one address: the account's.

A display name that Python's header folder had to fold lost its quotes, so a
`full_name` of `Events Team <events@example.org>, Security Desk
<attacker@evil.example>, and` turned the `To:` header into three recipients.
Each message is serialised and parsed back, as a relay and a mail client would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.mail.composer import MailComposer
from application.ports.notifications import Notification, NotificationKind, Recipient

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
COMPOSER = MailComposer(sender="eventapi <noreply@eventapi.test>", public_url="http://api.test")
VICTIM = "victim@example.org"

HOSTILE_NAMES = [
    "Events Team <events@example.org>, Security Desk <attacker@evil.example>, and",
    "Events Team <events@example.org>, Security Desk <attacker@evil.example>, "
    "and a name long enough that the header has to be folded twice over, really",
    "a, b",
    '"quoted", <attacker@evil.example>',
    '"Mallory" <attacker@evil.example>',
    "Mallory\r\nBcc: attacker@evil.example",
    "Mallory\nTo: attacker@evil.example",
    "attacker@evil.example",
    "undisclosed-recipients:;",
    "group: attacker@evil.example, other@evil.example;",
    "(comment) attacker@evil.example (another)",
    "back\\slash \\<attacker@evil.example\\>",
    "Zoë Ångström-Łukasiewicz <attacker@evil.example>, " + "Ü" * 60,
    "Ευάγγελος Παπαδόπουλος, Σωκράτης <attacker@evil.example>",
    "李小龍 <attacker@evil.example>, 王菲",
    "Dr. Ada A. Lovelace, Countess of Lovelace, née Byron " * 3,
    "=?utf-8?q?attacker=40evil.example=2C?= <attacker@evil.example>",
    "x" * 200,
    "",
]


#: Characters that mean something in an address header, drawn often.
#: Any text a name could hold (no lone surrogates: they are not text, and no account
#: name can carry one).
TEXT = st.characters(exclude_categories=["Cs"])
MAIL_SYNTAX = '<>,;:"@()[]\\.=? \r\n\tÜ李'


def delivered(full_name: str) -> EmailMessage:
    """The message as a relay receives it, parsed back."""
    recipient = Recipient(id=uuid4(), email=VICTIM, full_name=full_name)
    notification = Notification(
        cause_id=uuid4(), kind=NotificationKind.WELCOME, recipient_id=recipient.id, created_at=NOW
    )
    message = COMPOSER.compose(
        notification, recipient=recipient, event=None, message_id="<1@eventapi.test>", now=NOW
    )
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def assert_only_the_account(message: EmailMessage) -> None:
    assert message.get_all("To") is not None
    assert len(message.get_all("To") or []) == 1, message.get_all("To")
    for header in ("Cc", "Bcc"):
        assert message.get_all(header) is None, message.get_all(header)
    addresses = message["To"].addresses
    assert [address.addr_spec for address in addresses] == [VICTIM], str(message["To"])
    assert message["To"].defects == (), (str(message["To"]), message["To"].defects)


@pytest.mark.parametrize("full_name", HOSTILE_NAMES)
def test_to_names_exactly_one_address_whatever_the_name(full_name: str) -> None:
    assert_only_the_account(delivered(full_name))


def test_an_ordinary_name_is_kept() -> None:
    message = delivered("Zoë Ångström")
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    assert message["To"].addresses[0].addr_spec == VICTIM


@settings(max_examples=150, deadline=None)
@given(st.text(st.one_of(st.sampled_from(MAIL_SYNTAX), TEXT), max_size=200))
def test_no_name_adds_a_recipient(full_name: str) -> None:
    assert_only_the_account(delivered(full_name))
