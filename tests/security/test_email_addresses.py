"""Only a plain addr-spec is an account's e-mail address.

RFC 5322 comments made one mailbox many accounts: `victim@example.org(1)` and
`(x)victim@example.org` registered as accounts of their own, and every mail to
them went to the victim. Trailing dots, group syntax (`x:a@b;`), fullwidth
letters and raw IDN domains were accepted but could never be mailed. The mail
library must read each address back unchanged; IDN domains are refused (their
`xn--` form is welcome), see `domain.values.EmailAddress`.
"""

from __future__ import annotations

from email.headerregistry import Address

import pytest

from domain.errors import InvalidValue
from domain.values import EmailAddress
from tests.e2e.conftest import Api, assert_problem

VICTIM = "victim@example.org"


def fullwidth(ascii_text: str) -> str:
    """The FULLWIDTH look-alike of each letter (U+FF01 onwards)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in ascii_text)


#: The same mailbox as VICTIM to any mail server, or no mailbox at all.
REFUSED = [
    "victim@example.org(1)",
    "(x)victim@example.org",
    "victim(comment)@example.org",
    "victim@(comment)example.org",
    "victim@example.org.",
    "victim.@example.org",
    ".victim@example.org",
    "vic..tim@example.org",
    "x:victim@example.org;",
    "Victim <victim@example.org>",
    '"victim"@example.org',
    '"vic tim"@example.org',
    fullwidth("victim") + "@example.org",
    "victim@" + fullwidth("example") + ".org",
    "\u212avictim@example.org",  # KELVIN SIGN lower-cases to "k"
    "victim@bücher.example",
    "victim@faß.de",
    "victim@[127.0.0.1]",
    "victim@127.0.0.1",
    "victim@localhost",
    "victim@-example.org",
    "victim@example-.org",
    "victim@example..org",
    "victim@@example.org",
    "victim@example.org,attacker@evil.example",
    "victim@example.org\r\nBcc: attacker@evil.example",
    "victim@example.org\x00",
    "vic\\tim@example.org",
    "v" * 65 + "@example.org",
]

ACCEPTED = [
    VICTIM,
    "Victim@Example.ORG",
    "first.last+tag@mail.example.co.uk",
    "o'brien@example.org",
    "user@xn--bcher-kva.example",
    "a_b-c@sub-domain.example.org",
]


@pytest.mark.parametrize("address", REFUSED)
def test_what_is_not_a_plain_mailbox_is_refused(address: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        EmailAddress(address)
    assert refused.value.field == "email"


@pytest.mark.parametrize("address", ACCEPTED)
def test_a_plain_address_is_kept_and_mailable(address: str) -> None:
    email = EmailAddress(address)
    assert email.value == address.lower()
    assert Address(addr_spec=email.value).addr_spec == email.value


async def test_no_second_account_for_the_victims_mailbox(api: Api) -> None:
    assert (await api.register(VICTIM)).status_code == 201
    before = api.snapshot()
    for address in REFUSED:
        response = await api.register(address)
        problem = assert_problem(response, 400, "/problems/invalid-input")
        assert [error["field"] for error in problem["errors"]] == ["email"], (address, problem)
    assert api.snapshot() == before
