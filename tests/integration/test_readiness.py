"""/health/ready's probes as the container wires them: the database decides, a
configured SMTP relay is reported, never fatal. (The database's outage, over HTTP,
is in test_storage_outages.py.)"""

from __future__ import annotations

from pathlib import Path

from entrypoints.container import build_container, close_resources
from entrypoints.settings import Settings
from tests.mail_server import MailServer


async def test_a_configured_relay_is_reported_and_its_outage_only_degrades(
    tmp_path: Path,
) -> None:
    relay = MailServer()
    await relay.start()
    settings = Settings.from_environment(
        {
            "EVENTAPI_ENV": "test",
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'eventapi.db'}",
            "EVENTAPI_SECRET_KEY": "k" * 32,
            "EVENTAPI_SMTP_URL": f"{relay.url}?timeout=2",
        }
    )
    container = build_container(settings)
    try:
        up = await container.check_readiness().execute()
        await relay.stop()
        down = await container.check_readiness().execute()
    finally:
        await relay.stop()
        await close_resources(container)

    assert (up.ready, up.checks) == (True, {"database": "ok", "smtp": "ok"})
    assert (down.ready, down.checks) == (True, {"database": "ok", "smtp": "degraded"})
