"""Fuzzing from the contract: schemathesis against the live OpenAPI document.

A real `eventapi serve` on a loopback port (SQLite and PostgreSQL), and the
schemathesis CLI run against its `/schema/openapi.json` once per role:
anonymous, attendee, organizer and admin, each with a fresh account's bearer
token. Every phase runs (examples, coverage, fuzzing, and stateful sequences
over the links schemathesis infers from `Location` headers and response
fields), in both positive and negative mode, with a bounded number of examples
per operation and a fixed seed, so that CI is repeatable
(`EVENTAPI_TEST_SCHEMATHESIS_SEED` and `_EXAMPLES` explore further).

Checks: all of schemathesis's checks, `positive_data_acceptance` included: a
request the document calls valid must not be refused. The document says what a
schema can (lengths, patterns, bounds, formats, `additionalProperties: false`);
the only refusals left are the rules no schema can express, listed in `REFUSALS`
below with the reason, each for the operations that have it: there the check also
accepts that status. Everything else (no 5xx, documented status codes, content
types, headers and bodies; invalid data refused; auth enforced; `Allow` headers;
resources gone after DELETE and there after POST) must hold with 0 failures. The
server's log must not hold a single unhandled error either.

Rate limits are off (they are tested on their own; a 429 here would only
hide operations), and tokens live an hour. `DELETE /users/me` is left out of
the attendee's and organizer's runs, where it would close the very account
the rest of the run signs in with; the admin (the last admin, so refused
with 409) and anonymous runs include it.

`EVENTAPI_TEST_SCHEMATHESIS_REPORT=path` appends each run's numbers there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD
from tests.security.processes import (
    EVENTAPI,
    Process,
    clean_environment,
    start_eventapi,
    wait_until_ready,
)

SEED = int(os.environ.get("EVENTAPI_TEST_SCHEMATHESIS_SEED", "20261127"))
EXAMPLES = int(os.environ.get("EVENTAPI_TEST_SCHEMATHESIS_EXAMPLES", "25"))
RUN_SECONDS = 300
#: What schemathesis's positive_data_acceptance accepts anyway (its default list).
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
OPAQUE_CURSOR = "a `cursor` is opaque: only one the server issued for this listing is valid"
#: The document's text patterns name the control, format and private-use characters of
#: the Basic Multilingual Plane; beyond it, JSON Schema's ECMA-262 regexes and Python's
#: (which schemathesis generates from) share no escape, so those few are refused unsaid.
ASTRAL = "astral format or private-use characters in a text field (categories Cf, Co)"
#: Schema-valid requests the server refuses, by operation: the status and why no schema
#: can say it. (401, 403, 404 and 409, the caller's rights and the state of things, are
#: accepted everywhere by the check itself.)
REFUSALS: dict[str, tuple[str, str]] = {
    "ApiV1EventsSearch": (
        "400",
        f"{OPAQUE_CURSOR}; a date that matches the pattern but does not exist (`2030-02-30`); "
        "`radius_km` without `near`",
    ),
    "ApiV1EventsEventIdAttendeesAttendees": ("400", OPAQUE_CURSOR),
    "ApiV1UsersListUsers": ("400", OPAQUE_CURSOR),
    "ApiV1AuditEventsListAuditEvents": (
        "400",
        f"{OPAQUE_CURSOR}; a date that matches the pattern but does not exist; "
        "`until` after `since`",
    ),
    "ApiV1UsersMeRegistrationsMyRegistrations": ("400", OPAQUE_CURSOR),
    "ApiV1EventsCreate": (
        "400",
        "`ends_at` after `starts_at`; `timezone` a real IANA zone; an event in the future; "
        + ASTRAL,
    ),
    "ApiV1EventsEventIdUpdate": (
        "400",
        "`ends_at` after `starts_at` (with the stored other end); a real IANA zone; "
        "412 too: `If-Match` must be an ETag the server issued for the current version; " + ASTRAL,
    ),
    "ApiV1AuthRegisterRegister": (
        "400",
        "a password off the common-passwords list; an email address with a deliverable "
        "shape; " + ASTRAL,
    ),
    "ApiV1UsersCreateUser": (
        "400",
        "a password off the common-passwords list; an email address with a deliverable "
        "shape; " + ASTRAL,
    ),
    "ApiV1UsersMeUpdateMe": (
        "400",
        "a new password needs the right `current_password`, and must be off the "
        "common-passwords list; " + ASTRAL,
    ),
    "ApiV1AuthRevokeRevoke": ("400", "RFC 7009: the form's `token` may not be empty"),
    "ApiV1AuthPasswordResetConfirmConfirmPasswordReset": (
        "400",
        "`token` must be one the server mailed (`/problems/invalid-token`); a password off "
        "the common-passwords list; " + ASTRAL,
    ),
    "ApiV1AuthVerifyEmailVerifyEmail": (
        "400",
        "`token` must be one the server mailed (`/problems/invalid-token`)",
    ),
    "ApiV1UsersUserIdUpdateUser": ("400", ASTRAL),
    "ApiV1EventsEventIdCancelCancel": ("400", ASTRAL),
    "ApiV1WebhooksListWebhooks": ("400", OPAQUE_CURSOR),
    "ApiV1WebhooksWebhookIdDeliveriesDeliveries": ("400", OPAQUE_CURSOR),
}
#: What a webhook URL must be beyond its length: an absolute URL with a host and no
#: user or password, `https://` (unless EVENTAPI_WEBHOOK_ALLOW_HTTP) and not a literal
#: private or loopback address (unless EVENTAPI_WEBHOOK_ALLOW_PRIVATE).
WEBHOOK_URL = "`url` an absolute https:// URL with a public host; " + ASTRAL
REFUSALS["ApiV1WebhooksCreate"] = ("400", WEBHOOK_URL)
REFUSALS["ApiV1WebhooksWebhookIdUpdate"] = ("400", WEBHOOK_URL)
#: A generated `Idempotency-Key` (hypothesis favours short ones such as "0") comes back
#: with another body: 422 `/problems/idempotency-key-reused`, which no schema can say.
REUSED_KEY = "the same `Idempotency-Key` sent earlier in the run with another body"
IDEMPOTENT = (
    "ApiV1AuthRegisterRegister",
    "ApiV1UsersCreateUser",
    "ApiV1EventsCreate",
    "ApiV1EventsEventIdCancelCancel",
    "ApiV1EventsEventIdRegistrationsJoin",
    "ApiV1EventsEventIdCheckInsCheckIn",
    "ApiV1WebhooksCreate",
)
REFUSALS["ApiV1EventsEventIdRegistrationsJoin"] = ("422", REUSED_KEY)
REFUSALS["ApiV1EventsEventIdCheckInsCheckIn"] = ("422", REUSED_KEY)
EXTRA_STATUSES = {
    "ApiV1EventsEventIdUpdate": ["412"],
    **{operation: ["422"] for operation in IDEMPOTENT},
}
CLOSE_MY_ACCOUNT = "ApiV1UsersMeCloseMe"
ROLES = ("anonymous", "attendee", "organizer", "admin")


@dataclass
class Service:
    server: Process
    env: dict[str, str]
    workdir: Path
    tokens: dict[str, str]


def schemathesis_command() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is not installed (uv sync installs the dev group)")
    return [found]


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def create_admin(service: Service, email: str) -> None:
    """`eventapi create-admin`, as the README says (the password on stdin)."""
    made = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [*EVENTAPI, "create-admin", "--email", email],
        input=PASSWORD,
        cwd=service.workdir,
        env=service.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr


async def accounts(service: Service) -> dict[str, str]:
    """A token per role: the admin from the command line, the others over HTTP."""
    admin_email = "admin@example.org"
    create_admin(service, admin_email)
    async with httpx.AsyncClient(base_url=service.server.url, trust_env=False) as client:
        admin = await sign_in(client, admin_email)
        tokens = {"admin": admin}
        for role in ("attendee", "organizer"):
            email = f"{role}@example.org"
            body = {"email": email, "password": PASSWORD, "full_name": f"{role.title()} Person"}
            registered = await client.post("/api/v1/auth/register", json=body)
            assert registered.status_code == 201, registered.text
            if role == "organizer":
                promoted = await client.patch(
                    f"/api/v1/users/{registered.json()['id']}",
                    json={"role": "organizer"},
                    headers={"Authorization": f"Bearer {admin}"},
                )
                assert promoted.status_code == 200, promoted.text
            tokens[role] = await sign_in(client, email)
    return tokens


@pytest.fixture
async def service(database: tuple[str, str], tmp_path: Path) -> AsyncIterator[Service]:
    """The e2e suite's `database` (SQLite, PostgreSQL), served by `eventapi serve`."""
    _, database_url = database
    env = clean_environment(
        ENV="test",
        DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        SECRET_KEY="f" * 48,
        BCRYPT_ROUNDS="4",
        RATE_LIMITS="off",
        ACCESS_TOKEN_MINUTES="60",
    )
    server = start_eventapi("eventapi", env, tmp_path)
    try:
        await wait_until_ready(server)
        running = Service(server, env, tmp_path, {})
        running.tokens = await accounts(running)
        yield running
    finally:
        server.stop()


def fuzz(service: Service, role: str) -> dict[str, Any]:
    """One schemathesis run as `role`; returns its JSON report."""
    report = service.workdir / f"schemathesis-{role}.json"
    config = service.workdir / "schemathesis.toml"
    config.write_text(refusals_config(), encoding="utf-8")
    command = [
        *schemathesis_command(),
        "--config-file",
        str(config),
        "run",
        f"{service.server.url}/schema/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if role != "anonymous":
        command += ["--header", f"Authorization: Bearer {service.tokens[role]}"]
    if role in {"attendee", "organizer"}:
        command += ["--exclude-operation-id", CLOSE_MY_ACCOUNT]
    env = {**service.env, "NO_COLOR": "1"}
    finished = subprocess.run(  # noqa: S603 - the schemathesis CLI, fixed arguments
        command,
        cwd=service.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert report.exists(), finished.stdout[-3000:] + finished.stderr[-3000:]
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    result["_output"] = finished.stdout[-6000:] + finished.stderr[-2000:]
    result["_returncode"] = finished.returncode
    return result


def refusals_config() -> str:
    """schemathesis.toml: per operation in REFUSALS, the statuses the check accepts."""
    lines = []
    for operation_id, (status, _why) in REFUSALS.items():
        statuses = [*ACCEPTED, status, *EXTRA_STATUSES.get(operation_id, [])]
        lines += [
            "[[operations]]",
            f'include-operation-id = "{operation_id}"',
            f"checks.positive_data_acceptance.expected-statuses = {json.dumps(statuses)}",
            "",
        ]
    return "\n".join(lines)


def append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")


async def test_the_api_honours_its_openapi_document_for_every_role(
    service: Service, database: tuple[str, str], record_property: Any
) -> None:
    name = database[0]
    lines: list[str] = []
    failed: list[str] = []

    for role in ROLES:
        result = fuzz(service, role)
        operations = result["operations"]
        cases = result["test_cases"]
        line = (
            f"{name} {role}: {operations['tested']}/{operations['total']} operations, "
            f"{cases['generated']} test cases, {cases['unique_failures']} failures, "
            f"{len(result['errors'])} errors, {result['running_time']:.1f} s (seed {SEED}, "
            f"max {EXAMPLES} examples per operation and phase)"
        )
        lines.append(line)
        if result["_returncode"] != 0 or result["failures"] or result["errors"]:
            failed.append(f"{line}\n{result['_output']}")
        assert operations["tested"] >= operations["total"] - 1  # all (one left out above)

    record_property("schemathesis", "\n".join(lines))
    if report := os.environ.get("EVENTAPI_TEST_SCHEMATHESIS_REPORT"):
        append_line(Path(report), "\n".join(lines))
    assert not failed, "\n\n".join(failed)
    log = service.server.output()
    assert "unhandled error" not in log, log
