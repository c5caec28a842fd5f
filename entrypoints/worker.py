"""The worker: delivers the outbox and geocodes new addresses, in a loop, until told
to stop. The same function serves `eventapi worker` and the embedded default's
in-process worker (started from the app's lifespan).

Stopping is graceful: `stop` is looked at between batches, so the batch in hand
is finished (each of its messages sent and marked) before `run_worker` returns.
Whatever is still claimed when a process dies is claimed again once its lease
runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from application.ports.storage import StorageUnavailable
from application.use_cases.deliver_notifications import BatchReport
from application.use_cases.locate_events import LocateReport
from application.use_cases.purge_expired_records import PurgeReport
from entrypoints.container import Container

log = logging.getLogger("eventapi.worker")

R = TypeVar("R")

#: Pause after a failed batch (the database is down, ...), doubling up to LONGEST_PAUSE.
FIRST_FAILURE_PAUSE = 2.0
LONGEST_PAUSE = 60.0
#: First pause after the geocoding service failed; it doubles up to 15 minutes.
GEOCODER_PAUSE = 30.0
#: How long a stopping in-process worker gets to finish the batch in hand before it
#: is cancelled (what it had claimed comes back when the lease ends).
BACKGROUND_STOP_SECONDS = 10.0
#: Between purges of old outbox rows and expired sessions (at once again while a
#: purge finds full batches).
HOUSEKEEPING_INTERVAL = 3600.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_worker(
    container: Container,
    *,
    stop: asyncio.Event,
    poll_interval: float = 1.0,
    geocoding: bool = True,
    until_idle: bool = False,
) -> None:
    """Deliver notifications (and geocode, when a geocoder is configured) until
    `stop` is set. With `until_idle`, return as soon as nothing is due instead
    (for `eventapi worker --once` and tests). Closes the SMTP connection and the
    geocoder's HTTP client on the way out; the engine stays the caller's."""
    notifier = container.notifier()  # a bad EVENTAPI_SMTP_URL fails here, at start
    geocoder = container.geocoder() if geocoding else None
    deliver = container.deliver_notifications()
    purge = container.purge_expired_records()
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(
                _repeat(
                    "delivery",
                    deliver.execute,
                    _delivery_pause(poll_interval),
                    stop=stop,
                    until_idle=until_idle,
                )
            )
            tasks.create_task(
                _repeat(
                    "housekeeping",
                    purge.execute,
                    _housekeeping_pause,
                    stop=stop,
                    until_idle=until_idle,
                )
            )
            if geocoder is not None:
                locate = container.locate_events()
                tasks.create_task(
                    _repeat(
                        "geocoding",
                        locate.execute,
                        _geocoding_pause(poll_interval),
                        stop=stop,
                        until_idle=until_idle,
                    )
                )
    finally:
        for resource in (notifier, geocoder):
            close = getattr(resource, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()


def stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Set `stop` on SIGTERM and SIGINT (call from inside the running loop).
    Returns what puts the previous handlers back."""
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)

    def restore() -> None:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)

    return restore


class BackgroundWorker:
    """`run_worker` as a task of the running loop: the embedded default's in-process
    worker, started by the app's lifespan and stopped before its resources close."""

    def __init__(self, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        self._task = task
        self._stop = stop

    @classmethod
    def start(cls, container: Container, *, poll_interval: float = 1.0) -> BackgroundWorker:
        # Built here, not in the task, so that a bad EVENTAPI_SMTP_URL stops the start-up.
        container.notifier()
        container.geocoder()
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(container, stop=stop, poll_interval=poll_interval),
            name="eventapi-inprocess-worker",
        )
        task.add_done_callback(_report_end)
        log.info("in-process worker started (EVENTAPI_INPROCESS_WORKER)")
        return cls(task, stop)

    async def stop(self, grace_seconds: float = BACKGROUND_STOP_SECONDS) -> None:
        """Let the batch in hand finish (for at most `grace_seconds`), then return."""
        self._stop.set()
        done, _ = await asyncio.wait({self._task}, timeout=grace_seconds)
        if not done:
            log.warning("in-process worker: the batch did not finish within %.0fs", grace_seconds)
            self._task.cancel()
            await asyncio.wait({self._task})


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("in-process worker stopped by an error", exc_info=error)


async def _repeat(
    name: str,
    step: Callable[[], Awaitable[R]],
    pause_after: Callable[[R], float],
    *,
    stop: asyncio.Event,
    until_idle: bool,
) -> None:
    failures = 0
    while not stop.is_set():
        _honour_cancellation()
        try:
            report = await step()
        except Exception as error:
            failures += 1
            pause = min(LONGEST_PAUSE, FIRST_FAILURE_PAUSE * 2.0 ** min(failures - 1, 10))
            if isinstance(error, StorageUnavailable):  # an outage, not a bug: one line
                log.warning("%s: %s; trying again in %.0fs", name, error.reason, pause)
            else:
                log.exception("%s: a batch failed; trying again in %.0fs", name, pause)
        else:
            failures = 0
            pause = pause_after(report)
            if pause and until_idle:
                return
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)


def _honour_cancellation() -> None:
    """Re-raise a cancellation that something below swallowed (SQLAlchemy's pool
    can, when it lands in a connection's pre-ping), so cancelling the worker's
    task always ends it rather than leaving the loop running."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _delivery_pause(poll_interval: float) -> Callable[[BatchReport], float]:
    def pause(report: BatchReport) -> float:
        if report.claimed:
            counts = {
                str(outcome): report.count(outcome) for outcome in sorted(set(report.outcomes))
            }
            log.info(
                "delivery: %s",
                ", ".join(f"{outcome} {count}" for outcome, count in counts.items()),
                extra={"event": "outbox.batch", "claimed": report.claimed, **counts},
            )
            return 0.0  # there may be more
        return poll_interval

    return pause


def _housekeeping_pause(report: PurgeReport) -> float:
    if (
        report.outbox_rows
        or report.sessions
        or report.account_tokens
        or report.idempotency_keys
        or report.webhook_attempts
    ):
        log.info(
            "housekeeping: purged %s outbox rows, %s expired sessions, %s account tokens"
            " and %s idempotency keys",
            report.outbox_rows,
            report.sessions,
            report.account_tokens,
            report.idempotency_keys,
            extra={
                "event": "housekeeping.purge",
                "outbox_rows": report.outbox_rows,
                "sessions": report.sessions,
                "account_tokens": report.account_tokens,
                "idempotency_keys": report.idempotency_keys,
                "webhook_attempts": report.webhook_attempts,
            },
        )
    return 0.0 if report.more else HOUSEKEEPING_INTERVAL


def _geocoding_pause(poll_interval: float) -> Callable[[LocateReport], float]:
    outages = 0

    def pause(report: LocateReport) -> float:
        nonlocal outages
        if report.unavailable:
            outages += 1
            wait = min(GEOCODER_PAUSE * 2.0 ** min(outages - 1, 10), 900.0)
            log.warning(
                "geocoding: the service failed; trying again in %.0fs",
                wait,
                extra={"event": "geocoding.outage", "retry_in_s": wait},
            )
            return wait
        outages = 0
        if report.tried:
            log.info(
                "geocoding: located %s of %s addresses",
                report.located,
                report.tried,
                extra={
                    "event": "geocoding.batch",
                    "tried": report.tried,
                    "located": report.located,
                },
            )
        return 0.0 if report.tried else poll_interval

    return pause
