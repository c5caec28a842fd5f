"""Signing webhook deliveries the Standard Webhooks way (docs/notifications.md).

A secret is `whsec_` + base64 of 24 random bytes; the HMAC key is those bytes.
Each delivery carries three headers:

- `webhook-id`: `msg_` + the hex of the delivery's UUID, the same on every retry
  (`message_id_for`), so a receiver can drop duplicates;
- `webhook-timestamp`: Unix seconds of this attempt;
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}." + body>`, one
  per secret, separated by spaces. While a secret is being rotated both the new and
  the old one sign, so a receiver holding either verifies the delivery.

Pure standard library: the worker calls it, the HTTP sender only carries the result.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from secrets import token_bytes
from uuid import UUID

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 24
MESSAGE_ID_PREFIX = "msg_"
SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 24 random bytes (192 bits)."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def message_id_for(cause: UUID) -> str:
    """The `webhook-id` of the delivery identified by `cause`: stable across retries,
    different for every delivery."""
    return MESSAGE_ID_PREFIX + cause.hex


def sign(secrets: Sequence[str], *, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: one `v1,<base64>` per secret, in order.

    Raises ValueError when there is no secret or one is not a `whsec_` secret.
    """
    if isinstance(secrets, str):  # a lone secret would be signed once per character
        raise TypeError("secrets must be a sequence of secrets, not one string")
    if not secrets:
        raise ValueError("at least one secret is needed to sign a webhook")
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        f"{SIGNATURE_VERSION},{_b64(hmac.new(_key(secret), signed, hashlib.sha256).digest())}"
        for secret in secrets
    )


def headers(
    secrets: Sequence[str], *, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt of one delivery."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, message_id=message_id, timestamp=timestamp, body=body),
    }


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
