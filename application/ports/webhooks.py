"""Calling a subscriber's webhook endpoint: the one thing the worker needs from the
network to deliver a webhook (Standard Webhooks, docs/notifications.md).

The sender is an adapter (`adapters/webhooks`); everything about *what* is sent
(payload, `webhook-id`, signatures) is decided before it is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookResponse:
    """What the endpoint answered. A redirect is an answer like any other (it is
    never followed); only a 2xx counts as delivered."""

    status: int

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


class DestinationRefused(Exception):
    """The URL may not be called as it stands: its scheme is not allowed, or its
    host resolves to an address the guard refuses (private, loopback, link-local,
    multicast, unspecified or reserved, IPv4-mapped forms included). Retrying the
    same URL would be refused again, so the delivery fails for good; the message
    says why without echoing anything secret."""


class WebhookSender(Protocol):
    """POSTs one signed payload to one endpoint.

    - `body` is sent as is with `Content-Type: application/json` and `headers`
      (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    - The host is resolved at the moment of sending and the connection goes to an
      address that passed the guard (no second lookup an attacker could answer
      differently).
    - Redirects are not followed; the whole exchange is bounded by a timeout
      (10 s by default) and at most 64 KiB of the response body is read.
    - Raises `DestinationRefused` when the guard refuses; any other exception
      (timeout, refused connection, TLS failure) means "try again later".
    """

    async def send(
        self, url: str, *, body: bytes, headers: Mapping[str, str]
    ) -> WebhookResponse: ...
