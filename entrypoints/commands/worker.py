"""`eventapi worker`: deliver the outbox (and geocode addresses) as a process of its own.

On PostgreSQL run as many as you like, beside the web processes; the embedded
SQLite default needs none (the web app runs one inside). SIGTERM or Ctrl-C stops
it once the batch in hand is done: every message of it sent and marked.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from adapters.mail.sink import MailSink
from adapters.mail.smtp import parse_smtp_url
from entrypoints.commands.database import require_schema
from entrypoints.container import Container
from entrypoints.worker import run_worker, stop_on_signals


async def work(
    container: Container,
    *,
    once: bool,
    poll_interval: float,
    geocoding: bool,
    out: TextIO,
) -> None:
    """Run the worker until SIGTERM/SIGINT (or, with `once`, until nothing is due)."""
    # Configuration first (a bad EVENTAPI_SMTP_URL), before the database is touched.
    notifier = container.notifier()
    geocoder = container.geocoder() if geocoding else None
    await require_schema(container)
    stop = asyncio.Event()
    restore_signals = stop_on_signals(stop)
    try:
        settings = container.settings()
        if isinstance(notifier, MailSink):
            mail = f"mail to {notifier.directory}"
        else:
            relay = parse_smtp_url(settings.mail.smtp_url or "")
            mail = f"mail through {relay.host}:{relay.port}"
        places = (
            f"geocoding with {settings.geocoder.provider}"
            if geocoder is not None
            else "no geocoding"
        )
        until = "until nothing is due" if once else "until SIGTERM or Ctrl-C"
        print(f"eventapi worker: delivering ({mail}; {places}) {until}", file=out, flush=True)
        await run_worker(
            container,
            stop=stop,
            poll_interval=poll_interval,
            geocoding=geocoding,
            until_idle=once,
        )
    finally:
        restore_signals()
    print(
        "eventapi worker: stopped" + (" (nothing is due)" if once and not stop.is_set() else ""),
        file=out,
        flush=True,
    )
