"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.mail_server import MailServer


@pytest.fixture
async def relay() -> AsyncIterator[MailServer]:
    """A real SMTP relay on loopback, up; tests may stop and start it for outages."""
    server = MailServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
