"""The README's promise, kept: `eventapi serve` starts with no configuration in a
fresh directory, and the curl tour works against it.

The server is a real subprocess on a free loopback port, in an empty working
directory (so a fresh ./data) with no EVENTAPI_* variable but a cheap bcrypt
cost. The request bodies, credentials and queries come from the README's tour
itself, so the two cannot drift apart; the admin is made with
`eventapi create-admin`, as the README says.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.mail.sink import read_message

README = Path(__file__).resolve().parents[2] / "README.md"
EVENTAPI = (sys.executable, "-m", "entrypoints.cli")
START_SECONDS = 60
STOP_SECONDS = 30
API = "/api/v1"


def readme_tour() -> str:
    """The shell block of the README's "A short tour with curl" section."""
    section = README.read_text(encoding="utf-8").split("### A short tour with curl", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "the README has no tour"
    return match.group(1)


@dataclass(frozen=True)
class Tour:
    """What the tour sends, read from the README."""

    text: str
    bodies: list[dict[str, Any]]  # every `-d '{...}'` JSON body, in order
    credentials: dict[str, str]  # email -> password

    @classmethod
    def from_readme(cls) -> Tour:
        text = readme_tour()
        bodies = [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", text, re.S)]
        credentials = dict(re.findall(r"token (\S+@\S+) (\S+)\)", text))
        admin = re.search(r"echo '(.+?)' \| .*create-admin --email (\S+)", text)
        assert admin is not None, "the tour makes no admin"
        credentials[admin.group(2)] = admin.group(1)
        return cls(text, bodies, credentials)

    def body(self, key: str, value: object) -> dict[str, Any]:
        """The one body that sends `key: value`, e.g. ("status", "published")."""
        (found,) = [body for body in self.bodies if body.get(key) == value]
        return found

    def idempotency_key(self) -> str:
        """The `Idempotency-Key` the tour sends with the join (the same both times)."""
        keys: list[str] = re.findall(r'-H "Idempotency-Key: ([^"]+)"', self.text)
        assert len(keys) == 2 and keys[0] == keys[1], keys
        return keys[0]

    def search_params(self) -> dict[str, str]:
        """The parameters of the tour's `curl -G "$API/events" --data-urlencode ... -d ...`."""
        match = re.search(r'-G "\$API/events" (.*?)\n(?=\S)', self.text, re.S)
        assert match is not None, "the tour shows no search syntax"
        pairs = re.findall(r"--data-urlencode '([^']*)'", match.group(1))
        pairs += re.findall(r" -d (\S+)", match.group(1))
        return dict(pair.split("=", 1) for pair in pairs)

    def query(self, prefix: str, containing: str = "") -> str:
        """The first search starting with `prefix` (and containing `containing`)."""
        for match in re.finditer(rf'"\$API/events\?({re.escape(prefix)}[^"]*)"', self.text):
            if containing in match.group(1):
                return match.group(1)
        raise AssertionError(f"the tour has no search starting with {prefix} ({containing})")


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    workdir: Path
    env: dict[str, str]
    log: list[str] = field(default_factory=list)
    output: threading.Event = field(default_factory=threading.Event)

    def read_output(self) -> None:
        """Drain the server's output (so it never blocks on a full pipe), waking
        whoever waits for news at each line and at exit."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            self.output.set()
        self.output.set()

    def wait_until_ready(self) -> None:
        """Poll /health/ready until 200 (503 means "not yet"), for at most
        START_SECONDS; between polls, wait for the server to print something (or a
        tenth of a second)."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"eventapi serve exited with {self.process.returncode}:\n{self.logs}")
            try:
                response = httpx.get(f"{self.url}/health/ready", timeout=2, trust_env=False)
            except httpx.TransportError:
                pass  # not listening yet
            else:
                if response.status_code == 200:
                    return
                if response.status_code != 503:  # 503 is "not yet"; anything else is a bug
                    pytest.fail(f"/health/ready answered {response.status_code}:\n{self.logs}")
            if time.monotonic() > deadline:
                pytest.fail(f"not ready within {START_SECONDS}s:\n{self.logs}")
            self.output.wait(0.1)
            self.output.clear()

    def stop(self) -> int:
        """SIGTERM, as a process manager would send; killed if it does not finish."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def eventapi(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Another `eventapi` command next to the server, on the same ./data."""
        return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [*EVENTAPI, *args],
            cwd=self.workdir,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=False,
        )

    def mail_to(self, address: str, count: int) -> list[str]:
        """The subjects of the mail that the embedded default's in-process worker left
        in ./data/mail for `address`, once there are `count` (for at most
        START_SECONDS; between looks, wait for the server to log something)."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            mail = [read_message(path) for path in (self.workdir / "data" / "mail").glob("*.eml")]
            subjects = [m["Subject"] for m in mail if m["To"].addresses[0].addr_spec == address]
            if len(subjects) >= count:
                return sorted(subjects)
            if time.monotonic() > deadline:
                pytest.fail(f"{len(subjects)} of {count} messages to {address}:\n{self.logs}")
            self.output.wait(0.1)
            self.output.clear()

    def plain_texts(self, address: str) -> list[str]:
        """The text/plain parts of the mail in ./data/mail for `address`."""
        mail = [read_message(path) for path in (self.workdir / "data" / "mail").glob("*.eml")]
        return [
            str(body.get_content())
            for m in mail
            if m["To"].addresses[0].addr_spec == address
            and (body := m.get_body(preferencelist=("plain",))) is not None
        ]

    @property
    def logs(self) -> str:
        return "".join(self.log)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVENTAPI_")}
    env["EVENTAPI_BCRYPT_ROUNDS"] = "4"  # speed only; everything else is the default
    port = free_port()
    with subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*EVENTAPI, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        running = Server(process, f"http://127.0.0.1:{port}", tmp_path, env)
        reader = threading.Thread(target=running.read_output, daemon=True)
        reader.start()
        try:
            running.wait_until_ready()
            yield running
        finally:
            running.stop()
            reader.join(STOP_SECONDS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(http: httpx.Client, email: str, password: str) -> str:
    response = http.post(
        f"{API}/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    token: str = response.json()["access_token"]
    return token


def test_the_readme_gives_one_command_to_start_the_service() -> None:
    assert "python3 -m pip install --quiet uv && python3 -m uv run eventapi serve" in (
        README.read_text(encoding="utf-8")
    )


def test_the_readme_tour_works_against_eventapi_serve(server: Server) -> None:
    tour = Tour.from_readme()
    olivia_signup, sam_signup = (
        tour.body("full_name", "Olivia Okafor"),
        tour.body("full_name", "Sam Silva"),
    )
    (admin_email,) = [email for email in tour.credentials if email.startswith("admin@")]
    assert f"{server.url}/schema/swagger" in server.logs  # serve says where the docs are

    with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as http:
        # Olivia registers: always an attendee.
        response = http.post(f"{API}/auth/register", json=olivia_signup)
        assert response.status_code == 201, response.text
        olivia = response.json()
        assert (olivia["email"], olivia["role"]) == (olivia_signup["email"], "attendee")
        assert "password" not in response.text

        # The admin is made at the console, with the password on stdin...
        made = server.eventapi(
            "create-admin", "--email", admin_email, stdin=tour.credentials[admin_email] + "\n"
        )
        assert made.returncode == 0, made.stderr
        assert tour.credentials[admin_email] not in made.stdout + made.stderr
        # ...and promotes Olivia.
        admin = sign_in(http, admin_email, tour.credentials[admin_email])
        response = http.patch(
            f"{API}/users/{olivia['id']}",
            json=tour.body("role", "organizer"),
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "organizer"

        # Olivia creates a draft and publishes it.
        token = sign_in(http, olivia_signup["email"], tour.credentials[olivia_signup["email"]])
        new_event = tour.body("title", "Python meetup: async in practice")
        response = http.post(f"{API}/events", json=new_event, headers=bearer(token))
        assert response.status_code == 201, response.text
        event = response.json()
        assert response.headers["location"] == f"{API}/events/{event['id']}"
        assert (event["status"], event["organizer"]["id"]) == ("draft", olivia["id"])
        assert event["location"]["city"] == new_event["location"]["city"]
        assert http.get(f"{API}/events/{event['id']}").status_code == 404  # drafts stay hidden
        response = http.patch(
            f"{API}/events/{event['id']}",
            json=tour.body("status", "published"),
            headers=bearer(token),
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "published"

        # Anyone finds it: by text and city, and by distance with free seats.
        for query in (tour.query("q="), tour.query("near=")):
            response = http.get(f"{API}/events?{query}")
            assert response.status_code == 200, (query, response.text)
            assert [item["id"] for item in response.json()["items"]] == [event["id"]], query
        # Nearest first, with the distance, and the total on request.
        nearest = http.get(f"{API}/events?{tour.query('near=', containing='sort=distance')}")
        assert nearest.status_code == 200, nearest.text
        (found,) = nearest.json()["items"]
        assert found["id"] == event["id"]
        assert 0.5 < found["distance_km"] < 2  # Torstraße 1 from 52.52,13.40
        assert nearest.json()["total"] == {"value": 1, "exact": True}

        # The search syntax of the tour finds it too; the country is stored as its code.
        response = http.get(f"{API}/events", params=tour.search_params())
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [event["id"]]
        assert response.json()["items"][0]["location"]["country"] == "DE"
        response = http.get(f"{API}/events", params={**tour.search_params(), "q": "asyncio -pizza"})
        assert response.json()["items"] == []

        # Sam registers, joins, sees the registration, and leaves.
        response = http.post(f"{API}/auth/register", json=sam_signup)
        assert response.status_code == 201, response.text
        sam = sign_in(http, sam_signup["email"], tour.credentials[sam_signup["email"]])
        key = tour.idempotency_key().replace("$EVENT_ID", event["id"])
        keyed = {**bearer(sam), "Idempotency-Key": key}
        response = http.post(f"{API}/events/{event['id']}/registrations", headers=keyed)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "confirmed"
        ticket = response.json()["ticket_code"]
        again = http.post(f"{API}/events/{event['id']}/registrations", headers=keyed)
        assert (again.status_code, again.content) == (201, response.content)
        assert again.headers["Idempotent-Replayed"] == "true"
        # Olivia checks Sam in at the door with the code from his join: once.
        assert "| json ticket_code)" in tour.text
        assert '"$API/events/$EVENT_ID/check-ins" -H "Authorization: Bearer $OLIVIA"' in tour.text
        scan = {"ticket_code": ticket}
        checked = http.post(
            f"{API}/events/{event['id']}/check-ins", json=scan, headers=bearer(token)
        )
        assert checked.status_code == 201, checked.text
        assert checked.json()["user"]["full_name"] == sam_signup["full_name"]
        twice = http.post(f"{API}/events/{event['id']}/check-ins", json=scan, headers=bearer(token))
        assert twice.status_code == 409, twice.text
        assert twice.json()["type"] == "/problems/already-checked-in"
        assert twice.json()["checked_in_at"] == checked.json()["checked_in_at"]
        managed = http.get(f"{API}/events/{event['id']}", headers=bearer(token)).json()
        assert managed["checked_in_count"] == 1
        assert http.get(f"{API}/events/{event['id']}").json()["attendee_count"] == 1
        response = http.get(f"{API}/users/me/registrations", headers=bearer(sam))
        assert response.status_code == 200, response.text
        assert [item["event"]["id"] for item in response.json()["items"]] == [event["id"]]
        # Sam's events in his calendar: the feed's secret URL, read without signing in.
        assert '-X POST "$API/users/me/calendar-feed"' in tour.text
        assert 'curl -s "$FEED"' in tour.text
        response = http.post(f"{API}/users/me/calendar-feed", headers=bearer(sam))
        assert response.status_code == 201, response.text
        feed = "/calendar/" + response.json()["url"].rsplit("/calendar/", 1)[1]
        response = http.get(feed)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert f"UID:{event['id']}@eventapi" in response.text
        response = http.delete(f"{API}/events/{event['id']}/registrations/me", headers=bearer(sam))
        assert response.status_code == 204, response.text
        assert http.get(f"{API}/events/{event['id']}").json()["attendee_count"] == 0

        # Sam takes his data with him: one JSON download with all of it.
        assert '"$API/users/me/export"' in tour.text
        response = http.get(f"{API}/users/me/export", headers=bearer(sam))
        assert response.status_code == 200, response.text
        assert re.fullmatch(
            r'attachment; filename="eventapi-export-\d{4}-\d\d-\d\d\.json"',
            response.headers["content-disposition"],
        )
        export = response.json()
        assert export["profile"]["email"] == sam_signup["email"]
        assert export["registrations"] == []  # he left: the registration is gone
        about = {(n["kind"], n["event_title"]) for n in export["notifications"]}
        assert {
            ("welcome", None),
            ("registration_confirmed", event["title"]),
            ("registration_ended", event["title"]),
        } <= about
        # Sam forgot the password: the reset mail's token sets a new one.
        (ask,) = [body for body in tour.bodies if set(body) == {"email"}]
        assert ask["email"] == sam_signup["email"]
        response = http.post(f"{API}/auth/password-reset", json=ask)
        assert response.status_code == 202, response.text
        assert "Reset your eventapi password" in server.mail_to(sam_signup["email"], 4)
        tokens = [
            found.group(1)
            for text in server.plain_texts(sam_signup["email"])
            if (found := re.search(r"/reset-password#token=([A-Za-z0-9_-]+)", text))
        ]
        assert len(tokens) == 1, tokens
        confirm = tour.body("token", "<the token from the mail>")
        response = http.post(
            f"{API}/auth/password-reset/confirm", json={**confirm, "token": tokens[0]}
        )
        assert response.status_code == 204, response.text
        sign_in(http, sam_signup["email"], confirm["password"])

    # Every step queued its notification in the outbox.
    outbox = server.eventapi("outbox")
    assert outbox.returncode == 0, outbox.stderr
    for kind in ("welcome", "event_published", "registration_confirmed", "registration_ended"):
        assert kind in outbox.stdout
    assert sam_signup["email"] in outbox.stdout
    # The server delivered them itself (SQLite: the in-process worker), into ./data/mail.
    assert "Welcome to eventapi" in server.mail_to(sam_signup["email"], 3)
    # The plain-text part gives the description as text: no markup, no stray spaces.
    texts = server.plain_texts(sam_signup["email"])
    assert any("Two talks, pizza and asyncio." in text for text in texts), texts
    assert not any("<strong>" in text or "asyncio ." in text for text in texts), texts

    # SIGTERM stops the server cleanly: the app shuts down, then uvicorn exits by the
    # signal it caught, as process managers expect.
    assert server.stop() in {0, -signal.SIGTERM}, server.logs
    assert "Application shutdown complete" in server.logs
