"""The embedded default's mail: each message kept as an .eml file in a directory
(data_dir/mail), for a person to open or a test to read. Nothing leaves the
machine.

A file is named after the message's Message-ID, so a redelivery of the same
outbox row replaces its file rather than adding one.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from pathlib import Path

from adapters.mail.composer import MailComposer
from application.ports.notifications import Notification, Notifier, Recipient
from application.ports.queries import EventView

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class SunkMail:
    path: Path
    message_id: str
    to: str
    subject: str


class MailSink(Notifier):
    def __init__(
        self,
        directory: Path,
        composer: MailComposer,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._directory = directory
        self._composer = composer
        self._now = now

    @property
    def directory(self) -> Path:
        return self._directory

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None:
        message = self._composer.compose(
            notification, recipient=recipient, event=event, message_id=message_id, now=self._now()
        )
        await asyncio.to_thread(self._write, file_name(message_id), message.as_bytes(policy=SMTP))

    def messages(self) -> list[SunkMail]:
        """What the sink holds, oldest first."""
        if not self._directory.is_dir():
            return []
        paths = sorted(self._directory.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        listed = []
        for path in paths:
            message = read_message(path)
            listed.append(
                SunkMail(
                    path=path,
                    message_id=str(message["Message-ID"]),
                    to=str(message["To"]),
                    subject=str(message["Subject"]),
                )
            )
        return listed

    def _write(self, name: str, data: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, self._directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def file_name(message_id: str) -> str:
    return _UNSAFE.sub("_", message_id.strip("<> ")) + ".eml"


def read_message(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    return message
