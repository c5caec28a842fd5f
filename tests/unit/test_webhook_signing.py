"""Webhook signatures, checked by the Standard Webhooks reference library
(`standardwebhooks`), not only by our own code."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from application import webhook_signing

BODY = b'{"type":"webhook.ping","timestamp":"2026-11-30T06:00:00Z","data":{}}'


def _now() -> int:
    return int(time.time())


def _signed(secrets: list[str], body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    return webhook_signing.headers(
        secrets,
        message_id=webhook_signing.message_id_for(uuid4()),
        timestamp=_now() if timestamp is None else timestamp,
        body=body,
    )


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    secret = webhook_signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert secret != webhook_signing.new_secret()


def test_the_message_id_is_stable_per_cause_and_distinct_between_causes() -> None:
    cause = UUID("0193a5c4-7e1f-7b2a-9c3d-4e5f60718293")
    assert webhook_signing.message_id_for(cause) == "msg_0193a5c47e1f7b2a9c3d4e5f60718293"
    assert webhook_signing.message_id_for(cause) == webhook_signing.message_id_for(cause)
    assert webhook_signing.message_id_for(uuid4()) != webhook_signing.message_id_for(cause)


def test_the_headers_are_the_three_standard_ones() -> None:
    secret = webhook_signing.new_secret()
    headers = webhook_signing.headers(
        [secret], message_id="msg_1", timestamp=1_700_000_000, body=BODY
    )
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
    assert " " not in headers["webhook-signature"]


def test_the_reference_library_verifies_one_secret() -> None:
    secret = webhook_signing.new_secret()
    headers = _signed([secret])
    assert Webhook(secret).verify(BODY, headers)["type"] == "webhook.ping"


def test_during_a_rotation_each_secret_alone_verifies() -> None:
    new, old = webhook_signing.new_secret(), webhook_signing.new_secret()
    headers = _signed([new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers) is not None
    assert Webhook(old).verify(BODY, headers) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_signing.new_secret()).verify(BODY, headers)


def test_the_signature_matches_the_reference_librarys_own() -> None:
    secret = webhook_signing.new_secret()
    timestamp = 1_700_000_000
    ours = webhook_signing.sign([secret], message_id="msg_x", timestamp=timestamp, body=BODY)
    theirs = Webhook(secret).sign("msg_x", datetime.fromtimestamp(timestamp, tz=UTC), BODY.decode())
    assert ours == theirs


def test_a_tampered_body_fails() -> None:
    secret = webhook_signing.new_secret()
    headers = _signed([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"ping", b"pong"), headers)


def test_a_tampered_timestamp_fails() -> None:
    secret = webhook_signing.new_secret()
    headers = _signed([secret])
    headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_a_tampered_message_id_fails() -> None:
    secret = webhook_signing.new_secret()
    headers = _signed([secret])
    headers["webhook-id"] = webhook_signing.message_id_for(uuid4())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


@pytest.mark.parametrize(
    "secrets",
    [[], ["not-a-secret"], ["whsec_"], ["whsec_not base64!"]],
    ids=["none", "no-prefix", "empty", "not-base64"],
)
def test_unusable_secrets_are_refused(secrets: list[str]) -> None:
    with pytest.raises(ValueError):
        webhook_signing.sign(secrets, message_id="msg_1", timestamp=1, body=BODY)


def test_a_lone_string_is_not_taken_for_a_list_of_secrets() -> None:
    with pytest.raises(TypeError):
        webhook_signing.sign(
            webhook_signing.new_secret(),
            message_id="msg_1",
            timestamp=1,
            body=BODY,
        )


@given(
    body=st.text().map(str.encode),
    flip=st.integers(min_value=0),
    rotating=st.booleans(),
)
def test_any_body_verifies_and_any_changed_byte_does_not(
    body: bytes, flip: int, rotating: bool
) -> None:
    secrets = [webhook_signing.new_secret() for _ in range(2 if rotating else 1)]
    headers = _signed(secrets, body=body)
    for secret in secrets:
        Webhook(secret).verify(body, headers, json_parse=False)
    # Change one character of a (UTF-8 text) body, or append one to an empty body.
    text = body.decode()
    if text:
        at = flip % len(text)
        changed = text[:at] + ("a" if text[at] != "a" else "b") + text[at + 1 :]
    else:
        changed = "a"
    for secret in secrets:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(changed.encode(), headers, json_parse=False)
