"""docs/openapi.json, checked by tools nobody here wrote.

- `openapi-spec-validator`: the document is valid OpenAPI 3.1.
- `openapi-python-client`: the package it generates (offline, into a temporary
  folder) passes `mypy --strict`, and so does tests/e2e/generated_client/walk.py
  against it; the walk then runs against a live `eventapi serve` on a loopback port:
  register, sign in with the password grant, create, publish with `If-Match`,
  `If-None-Match`, search, join, the CSV export, leave, refresh and revoke.
- The media types the document names are the ones the server sends (calendar.ics
  once said `charset=utf-8` twice).

Spectral and Redocly, being npm packages, run in .ci/run (tools/openapi-lint).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tests.e2e.conftest import PASSWORD
from tests.security.processes import (
    EVENTAPI,
    Process,
    clean_environment,
    start_eventapi,
    wait_until_ready,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"
WALK = Path(__file__).parent / "generated_client" / "walk.py"
PACKAGE = "eventapi_client"
GENERATOR_CONFIG = f"project_name_override: eventapi-client\npackage_name_override: {PACKAGE}\n"
# No post hooks: the generator would otherwise run ruff over its output, which is no
# part of what a client author depends on.
GENERATOR_CONFIG += "post_hooks: []\n"
ADMIN_EMAIL = "admin@example.org"


def tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    if not beside.exists():
        pytest.fail(f"{name} is not installed (uv sync installs the dev group)")
    return str(beside)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    finished = subprocess.run(  # noqa: S603 - our own dev tools, fixed arguments
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, f"{' '.join(command)} failed:\n{output[-6000:]}"
    return output


def test_the_document_is_valid_openapi_3_1() -> None:
    spec, _ = read_from_filename(str(DOCUMENT))

    validate(spec)  # raises on the first violation
    assert spec["openapi"].startswith("3.1")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client package generated from the committed document, offline."""
    where = tmp_path_factory.mktemp("generated")
    config = where / "config.yaml"
    config.write_text(GENERATOR_CONFIG, encoding="utf-8")
    output = run(
        [
            tool("openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(where / PACKAGE),
            "--config",
            str(config),
            "--meta",
            "none",
        ],
        cwd=where,
    )
    assert "Warning" not in output and "Error" not in output, output
    assert (where / PACKAGE / "__init__.py").exists(), output
    return where / PACKAGE


def test_the_generated_client_and_the_walk_pass_mypy_strict(generated: Path) -> None:
    config = generated.parent / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")  # strict, not this project's settings
    env = {**os.environ, "MYPYPATH": str(generated.parent)}
    output = run(
        [
            tool("mypy"),
            "--strict",
            "--no-incremental",
            "--config-file",
            str(config),
            str(generated),
            str(WALK),
        ],
        cwd=generated.parent,
        env=env,
    )

    assert "Success: no issues found" in output, output


def create_admin(env: dict[str, str], cwd: Path) -> None:
    """`eventapi create-admin`, as the README says (the password on stdin)."""
    made = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [*EVENTAPI, "create-admin", "--email", ADMIN_EMAIL],
        input=PASSWORD,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Process]:
    env = clean_environment(
        ENV="test",
        DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/walk.db",
        SECRET_KEY="w" * 48,
        BCRYPT_ROUNDS="4",
        RATE_LIMITS="off",
    )
    server = start_eventapi("eventapi", env, tmp_path)
    try:
        await wait_until_ready(server)
        create_admin(env, tmp_path)
        yield server
    finally:
        server.stop()


async def test_the_generated_client_walks_the_api(generated: Path, live: Process) -> None:
    env = {**os.environ, "PYTHONPATH": str(generated.parent)}
    output = run(
        [sys.executable, str(WALK), live.url, ADMIN_EMAIL, PASSWORD], cwd=generated.parent, env=env
    )

    assert "every step answered as documented" in output
    assert "unhandled error" not in live.output()


def test_text_responses_are_declared_as_what_they_are() -> None:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    paths = document["paths"]
    calendar = paths["/api/v1/events/{event_id}/calendar.ics"]["get"]["responses"]["200"]
    export = paths["/api/v1/events/{event_id}/attendees"]["get"]["responses"]["200"]

    assert set(calendar["content"]) == {"text/calendar"}
    assert set(export["content"]) == {"application/json", "text/csv"}
