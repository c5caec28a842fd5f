"""Headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium is started with `--remote-debugging-pipe`: it reads commands from fd 3
and writes answers and events to fd 4, each a JSON text followed by a NUL byte.
That needs no WebSocket client, no chromedriver and no new Python dependency.

The network is closed to everything but loopback, twice over: every
non-loopback URL goes through a proxy on a loopback port that is bound but
never listens, so each connection to it is refused at once (`--proxy-server`),
and every host name but 127.0.0.1 resolves to nothing (`--host-resolver-rules`,
for anything that would not use the proxy). A net log of the whole browser (not
only the page) is kept so a test can check which addresses Chromium ever tried
to connect to.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
#: How a request for another host fails here: at the dead proxy (plain HTTP, or
#: the CONNECT for HTTPS). Not ERR_NAME_NOT_RESOLVED and the like: those would
#: come from the machine's own closed network and prove nothing about this block.
BLOCKED_NETWORK_ERRORS = frozenset(
    {"net::ERR_PROXY_CONNECTION_FAILED", "net::ERR_TUNNEL_CONNECTION_FAILED"}
)
#: The flags that make Chromium run as root in a container without reaching out
#: (see the machine notes), and the resolver rule; `start` adds the dead proxy.
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--password-store=basic",
    # Browser chatter the flags above leave on (seen in the net log). The dead proxy
    # stops all of it anyway; this only keeps the log shorter.
    "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying,"
    "AutofillServerCommunication",
    "--metrics-recording-only",
    "--mute-audio",
    "--window-size=1280,900",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-bypass-list=127.0.0.1",
)


class BrowserUnavailable(Exception):
    """No Chromium here, or it would not start (the browser tests fail)."""


class ProtocolError(Exception):
    """Chromium answered a command with an error, or not in time."""


def find_chromium() -> str:
    chosen = os.environ.get("EVENTAPI_TEST_CHROMIUM")
    if chosen:
        if shutil.which(chosen) is None:
            raise BrowserUnavailable(f"EVENTAPI_TEST_CHROMIUM={chosen} is not an executable")
        return chosen
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise BrowserUnavailable(
        "Chromium is not installed (looked for /usr/bin/chromium, chromium, chromium-browser; "
        "install it with: apt-get install -y chromium)"
    )


@dataclass
class _Inbox:
    """Everything Chromium sent, guarded by one condition variable."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False


class Chromium:
    """One headless browser process and a DevTools connection to it."""

    def __init__(self, profile: Path, net_log: Path, stderr_log: Path) -> None:
        self._profile = profile
        self.net_log = net_log
        self.stderr_log = stderr_log
        self._inbox = _Inbox()
        self._next_id = 0
        self._write_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._to_browser: int | None = None
        self._from_browser: int | None = None
        self._reader: threading.Thread | None = None
        # Bound and never listening: Linux refuses every connection to it (RST), so
        # proxied requests fail at once, and no other process can take the port.
        self._dead_port = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead_port.bind(("127.0.0.1", 0))
        self.dead_proxy = f"127.0.0.1:{self._dead_port.getsockname()[1]}"

    # -- life cycle ---------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        executable = find_chromium()
        commands_read, commands_write = os.pipe()
        answers_read, answers_write = os.pipe()
        args = [
            executable,
            *BASE_FLAGS,
            f"--proxy-server={self.dead_proxy}",
            f"--user-data-dir={self._profile}",
            f"--log-net-log={self.net_log}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # Chromium wants the pipe on fds 3 and 4; a tiny launcher puts it there
        # (no preexec_fn: this process has other threads running).
        launcher = (
            "import fcntl, os, sys\n"
            "high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]\n"
            "os.dup2(high[0], 3)\n"
            "os.dup2(high[1], 4)\n"
            "os.execv(sys.argv[3], sys.argv[3:])\n"
        )
        with self.stderr_log.open("wb") as stderr:
            try:
                self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                    [sys.executable, "-c", launcher, str(commands_read), str(answers_write), *args],
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    pass_fds=(commands_read, answers_write),
                    start_new_session=True,
                )
            except OSError as error:
                raise BrowserUnavailable(f"{executable} could not be started: {error}") from error
            finally:
                os.close(commands_read)
                os.close(answers_write)
        self._to_browser = commands_write
        self._from_browser = answers_read
        self._reader = threading.Thread(target=self._read, name="chromium-devtools", daemon=True)
        self._reader.start()
        try:
            self.send("Browser.getVersion", timeout=timeout)
        except ProtocolError as error:
            self.close()
            raise BrowserUnavailable(
                f"{executable} did not answer on the DevTools pipe: {error}; "
                f"its output: {self.stderr_tail()}"
            ) from error

    def close(self, timeout: float = 15.0) -> None:
        """Close the browser properly (so the net log is complete), or kill it."""
        process = self._process
        if process is None:
            self._dead_port.close()
            return
        if process.poll() is None:
            with contextlib.suppress(ProtocolError, OSError):
                self.send("Browser.close", timeout=5.0)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        for fd in (self._to_browser, self._from_browser):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_browser = self._from_browser = None
        if self._reader is not None:
            self._reader.join(timeout=timeout)
        self._process = None
        self._dead_port.close()

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            return self.stderr_log.read_text(errors="replace")[-limit:] or "(nothing)"
        except OSError:
            return "(nothing)"

    # -- protocol -----------------------------------------------------------------------

    def _read(self) -> None:
        assert self._from_browser is not None
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._inbox.condition:
                for raw in messages:
                    message: dict[str, Any] = json.loads(raw)
                    if "id" in message:
                        self._inbox.answers[message["id"]] = message
                    else:
                        self._inbox.events.append(message)
                self._inbox.condition.notify_all()
        with self._inbox.condition:
            self._inbox.closed = True
            self._inbox.condition.notify_all()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        if self._to_browser is None:
            raise ProtocolError("the browser is not running")
        with self._write_lock:
            self._next_id += 1
            command_id = self._next_id
            message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
            if session is not None:
                message["sessionId"] = session
            data = json.dumps(message).encode() + b"\0"
            while data:
                written = os.write(self._to_browser, data)
                data = data[written:]
        with self._inbox.condition:
            answered = self._inbox.condition.wait_for(
                lambda: command_id in self._inbox.answers or self._inbox.closed, timeout
            )
            answer = self._inbox.answers.pop(command_id, None)
        if answer is None:
            why = "the browser went away" if answered else f"no answer within {timeout}s"
            raise ProtocolError(f"{method}: {why}")
        if "error" in answer:
            raise ProtocolError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def events(self, session: str | None = None) -> list[dict[str, Any]]:
        with self._inbox.condition:
            return [
                e for e in self._inbox.events if session is None or e.get("sessionId") == session
            ]

    def event_count(self) -> int:
        with self._inbox.condition:
            return len(self._inbox.events)

    def wait_for_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0
    ) -> dict[str, Any]:
        """The first event from index `since` on that matches, waiting up to `timeout`."""
        with self._inbox.condition:
            found: list[dict[str, Any]] = []

            def seen() -> bool:
                found[:] = [e for e in self._inbox.events[since:] if predicate(e)]
                return bool(found) or self._inbox.closed

            self._inbox.condition.wait_for(seen, timeout)
        if not found:
            raise ProtocolError(f"no matching event within {timeout}s")
        return found[0]

    def wait_for_any_message(self, timeout: float) -> None:
        """Block until Chromium sends something or `timeout` passes (for polling loops)."""
        with self._inbox.condition:
            self._inbox.condition.wait(timeout)

    @contextlib.contextmanager
    def page(self) -> Iterator[Page]:
        """A fresh tab with the Page, Network, Runtime, Log and Audits domains on."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session)
        for domain in ("Page", "Network", "Runtime", "Log", "Audits"):
            self.send(f"{domain}.enable", session=session)
        try:
            yield page
        finally:
            with contextlib.suppress(ProtocolError):
                self.send("Target.closeTarget", {"targetId": target})


@dataclass(frozen=True)
class NetworkRequest:
    url: str
    failure: str | None  # Chromium's net error text, if the request failed
    blocked_reason: str | None  # e.g. "csp" when the page's CSP stopped it before sending


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session

    def navigate(self, url: str, timeout: float = 20.0) -> str | None:
        """Go to `url` and wait for its load event; return Chromium's error text, if any."""
        mark = self.browser.event_count()
        result = self.browser.send("Page.navigate", {"url": url}, session=self.session)
        if result.get("errorText"):
            return str(result["errorText"])
        self.browser.wait_for_event(
            lambda e: (
                e.get("sessionId") == self.session and e.get("method") == "Page.loadEventFired"
            ),
            timeout,
            since=mark,
        )
        return None

    def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float, what: str) -> Any:
        """Poll a JavaScript expression until it is truthy, up to a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what}: not true within {timeout}s ({expression})")
            self.browser.wait_for_any_message(min(0.1, remaining))

    def wait_for_network_quiet(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Wait until this tab has had no network event for `quiet` seconds (bounded)."""
        deadline = time.monotonic() + timeout
        seen = -1
        quiet_from = time.monotonic()
        while True:
            count = sum(
                1 for e in self.browser.events(self.session) if e["method"].startswith("Network.")
            )
            now = time.monotonic()
            if count != seen:
                seen, quiet_from = count, now
            elif now - quiet_from >= quiet:
                return
            if now >= deadline:
                raise AssertionError(f"the page kept using the network for {timeout}s")
            self.browser.wait_for_any_message(min(quiet_from + quiet, deadline) - now)

    def type_into(self, selector: str, text: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.browser.send("Input.insertText", {"text": text}, session=self.session)

    def requests(self) -> list[NetworkRequest]:
        """Every request this tab made so far, with how it ended."""
        urls: dict[str, str] = {}
        failures: dict[str, tuple[str, str | None]] = {}
        for event in self.browser.events(self.session):
            params = event.get("params", {})
            if event.get("method") == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
            elif event.get("method") == "Network.loadingFailed":
                failures[params["requestId"]] = (params["errorText"], params.get("blockedReason"))
        return [
            NetworkRequest(
                url=url,
                failure=failures.get(request_id, (None, None))[0],
                blocked_reason=failures.get(request_id, (None, None))[1],
            )
            for request_id, url in urls.items()
        ]

    def console_problems(self) -> list[str]:
        """Errors and warnings the page logged, CSP violations included."""
        problems: list[str] = []
        for event in self.browser.events(self.session):
            params = event.get("params", {})
            if event.get("method") == "Log.entryAdded":
                entry = params["entry"]
                if entry.get("level") in {"error", "warning"}:
                    problems.append(
                        f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
                    )
            elif event.get("method") == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                problems.append(
                    f"exception: {details.get('exception', {}).get('description', details)}"
                )
            elif event.get("method") == "Runtime.consoleAPICalled" and params.get("type") in {
                "error",
                "warning",
            }:
                text = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]
                )
                problems.append(f"console.{params['type']}: {text}")
        return problems

    def csp_violations(self) -> list[str]:
        """What the page's Content-Security-Policy refused (Audits domain): the URL,
        or for a refused eval or inline script, its kind and the script's path."""
        refused: list[str] = []
        for event in self.browser.events(self.session):
            if event.get("method") != "Audits.issueAdded":
                continue
            issue = event["params"]["issue"]
            if issue.get("code") != "ContentSecurityPolicyIssue":
                continue
            details = issue["details"]["contentSecurityPolicyIssueDetails"]
            if "blockedURL" in details:
                refused.append(str(details["blockedURL"]))
            else:
                where = urlsplit(details.get("sourceCodeLocation", {}).get("url", "")).path
                refused.append(f"{details.get('contentSecurityPolicyViolationType')} in {where}")
        return refused


@dataclass(frozen=True)
class NetLogRequest:
    url: str
    initiator: str  # the page origin that asked, or "not an origin" for the browser itself
    net_error: int  # 0 when the request went through; -130 is ERR_PROXY_CONNECTION_FAILED


@dataclass(frozen=True)
class NetLog:
    """What the whole browser (every tab and the browser process) did on the network."""

    requests: tuple[NetLogRequest, ...]
    tcp_connects: frozenset[str]  # every address a TCP connect was attempted to
    udp_sends: frozenset[str]  # addresses of UDP sockets that sent at least one datagram
    udp_route_probes: frozenset[str]  # UDP sockets only connected (a route lookup, no packet)


def read_net_log(path: Path) -> NetLog:
    text = path.read_text(errors="replace")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        # Chromium was killed before it finished the file: close the event list ourselves.
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {value: name for name, value in log["constants"]["logEventTypes"].items()}
    by_source: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for event in log.get("events", []):
        by_source.setdefault(event["source"]["id"], []).append(
            (names.get(event["type"], ""), event.get("params") or {})
        )
    requests: list[NetLogRequest] = []
    tcp: set[str] = set()
    udp_sends: set[str] = set()
    udp_probes: set[str] = set()
    for events in by_source.values():
        udp_address: str | None = None
        udp_sent = False
        started: dict[str, Any] | None = None
        error = 0
        for name, params in events:
            if name == "URL_REQUEST_START_JOB" and "url" in params and started is None:
                started = params
            elif name == "TCP_CONNECT_ATTEMPT" and "address" in params:
                tcp.add(str(params["address"]))
            elif name == "TCP_CONNECT" and "address_list" in params:
                tcp.update(str(a) for a in params["address_list"])
            elif name == "UDP_CONNECT" and "address" in params:
                udp_address = str(params["address"])
            elif name in {"UDP_BYTES_SENT", "UDP_SEND_ERROR"}:
                udp_sent = True
            if params.get("net_error"):
                error = error or int(params["net_error"])
        if started is not None:
            requests.append(
                NetLogRequest(
                    url=str(started["url"]),
                    initiator=str(started.get("initiator", "")),
                    net_error=error,
                )
            )
        if udp_address is not None:
            (udp_sends if udp_sent else udp_probes).add(udp_address)
    return NetLog(
        requests=tuple(requests),
        tcp_connects=frozenset(tcp),
        udp_sends=frozenset(udp_sends),
        udp_route_probes=frozenset(udp_probes),
    )
