"""`eventapi serve` turns the in-process read cache off for several worker processes
without Redis (they could not see each other's writes), and leaves it alone
otherwise. uvicorn, the preflight checks and the migration are replaced: only
the environment the worker processes would inherit is looked at."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from entrypoints.commands import serve as serve_module
from entrypoints.settings import Settings

TTL = "EVENTAPI_READ_CACHE_TTL"


def run_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: int, **variables: str
) -> str | None:
    seen: dict[str, str | None] = {}

    def fake_uvicorn(*args: Any, **kwargs: Any) -> None:
        seen["ttl"] = os.environ.get(TTL)

    async def no_migration(settings: Settings) -> None:
        return None

    for name in ("check_redis", "check_mail", "check_port_free"):
        monkeypatch.setattr(serve_module, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(serve_module, "_migrate", no_migration)
    monkeypatch.setattr("uvicorn.run", fake_uvicorn)
    settings = Settings.from_environment(
        {
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_SECRET_KEY": "x" * 48,
            "EVENTAPI_LOG_FORMAT": "text",
            **variables,
        }
    )
    serve_module.serve(settings, host="127.0.0.1", port=8000, workers=workers, out=io.StringIO())
    return seen["ttl"]


def test_several_workers_without_redis_run_without_the_read_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(TTL, raising=False)
    assert run_serve(monkeypatch, tmp_path, 2) == "0"
    assert TTL not in os.environ  # restored once the server has stopped


def test_one_worker_or_redis_keep_the_read_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(TTL, "45")
    assert run_serve(monkeypatch, tmp_path, 1) == "45"
    redis = {"EVENTAPI_REDIS_URL": "redis://127.0.0.1:6379/0"}
    assert run_serve(monkeypatch, tmp_path, 3, **redis) == "45"
    assert os.environ[TTL] == "45"
