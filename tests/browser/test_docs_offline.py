"""The API docs (Swagger UI, ReDoc, Scalar) render in a real browser with no internet.

The real app runs under uvicorn on a free loopback port (SQLite in a temporary
folder); headless Chromium opens `/schema/swagger`, `/schema/redoc` and
`/schema/scalar` with everything but loopback blocked (see `chromium.py`),
and each test checks three things:

- the UI rendered every operation of the OpenAPI document (and, for Swagger UI,
  that Authorize offers the OAuth2 password flow and really signs in);
- every request the page made went to the app, or was stopped by the page's
  own Content-Security-Policy before it was sent (DevTools Network events);
- the whole browser opened sockets to loopback only, and every request for
  another host died at the dead proxy (Chromium's net log).

`test_the_network_is_really_closed` shows that the block works: a page that
references outside URLs gets none of them, while loopback still answers.

Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it
and sets `EVENTAPI_TEST_CHROMIUM=/usr/bin/chromium`), not from a Python
package, so the tests that drive it carry the `browser` mark, which the default
run deselects: run them with `pytest -m browser`. Asked for, they fail (never
skip) when no Chromium is installed or it will not start.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import DatabaseSettings, SecuritySettings, Settings
from tests.browser.chromium import (
    BLOCKED_NETWORK_ERRORS,
    BrowserUnavailable,
    Chromium,
    NetworkRequest,
    Page,
    read_net_log,
)

STARTUP_SECONDS = 30.0
RENDER_SECONDS = 20.0
DOCS_PAGES = ("/schema/swagger", "/schema/redoc", "/schema/scalar")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ERR_PROXY_CONNECTION_FAILED = -130
#: Requests the vendored UIs make on their own that eventapi cannot switch off
#: without patching the npm bundles. The docs CSP (img-src 'self' data:) refuses
#: them inside the browser, before any connection: they never leave the host.
#: ReDoc's "API docs by Redocly" footer shows a logo from its CDN and hides it
#: when it fails to load.
KNOWN_CSP_BLOCKED = frozenset({"https://cdn.redoc.ly/redoc/logo-mini.svg"})
#: Scalar's bundled zod probes once whether `new Function("")` is allowed (it
#: isn't: the docs CSP has no 'unsafe-eval'), catches the error and does without.
SCALAR_EVAL_PROBE = frozenset({"kEvalViolation in /schema/assets/scalar/standalone.js"})

USER_EMAIL = "docs.reader@example.org"
USER_PASSWORD = "a-long-and-unusual-passphrase-4711"


# -- the app under uvicorn ----------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    status: int


@dataclass
class RunningApp:
    origin: str  # http://127.0.0.1:PORT
    address: str  # 127.0.0.1:PORT
    served: list[Served] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests_since(self, mark: int) -> list[Served]:
        with self.lock:
            return self.served[mark:]

    def mark(self) -> int:
        with self.lock:
            return len(self.served)


def _recording(app: ASGIApp, running: RunningApp) -> ASGIApp:
    """Note every HTTP response the app sends: the server's view of the page loads."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                with running.lock:
                    running.served.append(Served(scope["method"], scope["path"], message["status"]))
            await send(message)

        await app(scope, receive, send_recorded)

    return wrapper


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    data_dir = tmp_path_factory.mktemp("docs-app")
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{data_dir / 'eventapi.db'}"),
        data_dir=data_dir,
        security=SecuritySettings(secret_key=b"x" * 48, bcrypt_rounds=4),
        environment="test",
    )
    asgi_app = create_app(build_container(settings))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        running = RunningApp(origin=f"http://127.0.0.1:{port}", address=f"127.0.0.1:{port}")
        config = uvicorn.Config(
            _recording(asgi_app, running),
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="uvicorn-docs", daemon=True
        )
        thread.start()
        try:
            _wait_until_ready(running.origin, thread)
            yield running
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def _wait_until_ready(origin: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if not thread.is_alive():
            pytest.fail("uvicorn stopped before /health/ready answered")
        try:
            status, body = _get(f"{origin}/health/ready", timeout=1.0)
        except OSError as error:
            last = repr(error)
        else:
            if status == 200:
                return
            last = f"{status} {body[:200]!r}"
        time.sleep(0.05)  # poll interval; the deadline above bounds the loop
    pytest.fail(f"/health/ready did not answer 200 within {STARTUP_SECONDS}s: {last}")


@pytest.fixture(scope="module")
def operations(app: RunningApp) -> list[dict[str, str]]:
    """Every operation of the served OpenAPI document: method, path, summary, id, tag."""
    status, body = _get(f"{app.origin}/schema/openapi.json")
    assert status == 200
    document = json.loads(body)
    found = [
        {
            "method": method.upper(),
            "path": path,
            "summary": operation["summary"],
            "operation_id": operation["operationId"],
            "tag": operation["tags"][0],
        }
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(found) > 20, "the OpenAPI document lost its operations"
    return found


# -- the browser ---------------------------------------------------------------------------


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    browser = Chromium(
        profile=tmp_path / "profile",
        net_log=tmp_path / "net-log.json",
        stderr_log=tmp_path / "chromium.log",
    )
    try:
        browser.start()
    except BrowserUnavailable as error:
        browser.close()
        pytest.fail(f"no usable headless Chromium: {error}")
    try:
        yield browser
    finally:
        browser.close()


def _open_docs(page: Page, app: RunningApp, path: str, rendered: str) -> None:
    error = page.navigate(f"{app.origin}{path}")
    assert error is None, f"{path}: {error}"
    page.wait_until(rendered, RENDER_SECONDS, f"{path} rendered")


def _assert_page_stayed_home(
    page: Page, app: RunningApp, *, allowed_csp_blocked: frozenset[str] = frozenset()
) -> None:
    """Every request of the tab went to the app (and succeeded), was a local
    data:/blob: URL, or was refused by the CSP before it was sent and is known."""
    page.wait_for_network_quiet()
    local_schemes = ("data:", "blob:", "about:")
    problems: list[NetworkRequest] = []
    for request in page.requests():
        if request.url.startswith(local_schemes):
            continue
        if request.url.startswith(f"{app.origin}/"):
            if request.failure is not None:
                problems.append(request)
            continue
        if request.blocked_reason == "csp" and request.url in allowed_csp_blocked:
            continue
        problems.append(request)
    assert not problems, (
        f"requests that did not go to the app: {problems}; page console: {page.console_problems()}"
    )


def _assert_sockets_only_to_loopback(browser: Chromium, app: RunningApp) -> None:
    """From the net log of the whole browser, once it has closed."""
    browser.close()
    log = read_net_log(browser.net_log)
    assert log.tcp_connects <= {app.address, browser.dead_proxy}, (
        f"TCP connections beyond loopback: {sorted(log.tcp_connects)}"
    )
    assert all(a.startswith("127.0.0.1:") for a in log.udp_sends), (
        f"UDP datagrams sent beyond loopback: {sorted(log.udp_sends)}"
    )
    # The browser's own chatter (update checks, account lookups) is in the log too,
    # every one of it failed at the dead proxy; none for another host got through.
    escaped = [
        r
        for r in log.requests
        if not r.url.startswith(f"{app.origin}/")
        and r.url.startswith(("http:", "https:", "ws:", "wss:"))
        and r.net_error == 0
    ]
    assert not escaped, f"requests for other hosts that did not fail: {escaped}"
    from_pages = [r for r in log.requests if r.initiator == app.origin]
    assert all(r.url.startswith(f"{app.origin}/") for r in from_pages), from_pages


def _assert_csp_refused_only(page: Page, allowed: frozenset[str]) -> None:
    unexpected = [v for v in page.csp_violations() if v not in allowed]
    assert not unexpected, f"the docs CSP refused: {unexpected}"


def _served_ok(app: RunningApp, mark: int, path: str) -> bool:
    return any(s.path == path and s.status == 200 for s in app.requests_since(mark))


# -- the block itself ----------------------------------------------------------------------

PROBE_PAGE = b"""<!doctype html>
<html><head><title>network probe</title></head><body>
<img id="outside" src="http://example.com/pixel.png">
<img id="outside-ip" src="http://93.184.215.14/pixel.png">
<img id="inside" src="/pixel.png">
<script src="https://cdn.jsdelivr.net/npm/left-pad@1.3.0/index.js"></script>
<script>
  window.results = {};
  for (const id of ["outside", "outside-ip", "inside"]) {
    const img = document.getElementById(id);
    const done = ok => { window.results[id] = ok ? "loaded" : "failed"; };
    if (img.complete) done(img.naturalWidth > 0);
    else { img.onload = () => done(true); img.onerror = () => done(false); }
  }
  const tryFetch = (name, url) => fetch(url, {mode: "no-cors", cache: "no-store"})
    .then(() => { window.results[name] = "loaded"; }, () => { window.results[name] = "failed"; });
  tryFetch("fetch-outside", "https://example.org/");
  tryFetch("fetch-inside", "/pixel.png");
</script>
</body></html>
"""
#: The smallest GIF there is: one transparent pixel.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


class _ProbeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (
            (PIXEL, "image/gif") if self.path == "/pixel.png" else (PROBE_PAGE, "text/html")
        )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def probe_site() -> Iterator[str]:
    """A loopback page with no CSP that references outside URLs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ProbeHandler)
    thread = threading.Thread(target=server.serve_forever, name="probe-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
def test_the_network_is_really_closed(chromium: Chromium, probe_site: str) -> None:
    with chromium.page() as page:
        # A navigation straight to the outside fails at the dead proxy.
        error = page.navigate("http://example.com/")
        assert error in BLOCKED_NETWORK_ERRORS, error

        # A loopback page (no CSP) that loads outside images, a script and a fetch.
        assert page.navigate(f"{probe_site}/probe.html") is None
        expected = {"outside", "outside-ip", "inside", "fetch-outside", "fetch-inside"}
        page.wait_until(
            f"Object.keys(window.results || {{}}).length === {len(expected)}",
            RENDER_SECONDS,
            "every probe settled",
        )
        results = page.evaluate("window.results")
        assert results == {
            "outside": "failed",
            "outside-ip": "failed",
            "inside": "loaded",
            "fetch-outside": "failed",
            "fetch-inside": "loaded",
        }
        outside = [r for r in page.requests() if not r.url.startswith(probe_site)]
        assert {r.url for r in outside} >= {
            "http://example.com/pixel.png",
            "http://93.184.215.14/pixel.png",
            "https://cdn.jsdelivr.net/npm/left-pad@1.3.0/index.js",
            "https://example.org/",
        }
        # ...and they failed because of the block, not for some other reason.
        assert all(r.failure in BLOCKED_NETWORK_ERRORS for r in outside), outside

    probe_address = probe_site.removeprefix("http://")
    chromium.close()
    log = read_net_log(chromium.net_log)
    assert log.tcp_connects <= {probe_address, chromium.dead_proxy}, sorted(log.tcp_connects)
    assert chromium.dead_proxy in log.tcp_connects  # the outside requests went to it
    assert all(a.startswith("127.0.0.1:") for a in log.udp_sends), sorted(log.udp_sends)
    blocked = {r.url for r in log.requests if r.net_error == ERR_PROXY_CONNECTION_FAILED}
    assert "https://example.org/" in blocked
    assert "http://93.184.215.14/pixel.png" in blocked


# -- what the app serves -------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "data-url"} and value is not None:
                self.urls.append(value)


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_the_docs_pages_link_only_to_the_app(app: RunningApp, path: str) -> None:
    """No browser needed: every script, style, icon and spec URL in the served
    HTML is the app's own (or an inline data: URL), and the docs CSP is sent."""
    with urllib.request.urlopen(f"{app.origin}{path}", timeout=5) as response:  # noqa: S310
        html = response.read().decode()
        csp = response.headers["content-security-policy"]
    links = _Links()
    links.feed(html)
    assert links.urls, f"{path} links to nothing"
    foreign = [
        url
        for url in links.urls
        if not (url.startswith("/schema/assets/") or url == "/schema/openapi.json")
        and not url.startswith("data:")
    ]
    assert not foreign, f"{path} links outside the app: {foreign}"
    assert "https://" not in html.split("<body", 1)[0], "a URL outside the app in the head"
    assert "default-src 'none'" in csp
    assert "connect-src 'self'" in csp
    for url in links.urls:
        if url.startswith("/schema/assets/"):
            status, _ = _get(f"{app.origin}{url}")
            assert status == 200, f"{url}: {status}"


# -- the three UIs ---------------------------------------------------------------------------


@pytest.mark.browser
def test_swagger_ui_renders_offline_and_authorize_signs_in(
    app: RunningApp, operations: list[dict[str, str]], chromium: Chromium
) -> None:
    status, body = _register_reader(app)
    assert status in {201, 409}, body
    mark = app.mark()
    with chromium.page() as page:
        _open_docs(
            page,
            app,
            "/schema/swagger",
            f"document.querySelectorAll('.opblock').length >= {len(operations)}",
        )
        rendered = page.evaluate(
            """[...document.querySelectorAll('.opblock')].map(block => [
                block.querySelector('.opblock-summary-method').textContent,
                block.querySelector('.opblock-summary-path').dataset.path,
                block.querySelector('.opblock-summary-description').textContent])"""
        )
        assert sorted(map(tuple, rendered)) == sorted(
            (o["method"], o["path"], o["summary"]) for o in operations
        )
        assert ["POST", "/api/v1/auth/register", "Create an attendee account"] in rendered
        assert any(path == "/api/v1/events" for _, path, _ in rendered)
        assert page.evaluate("document.querySelector('.info .title').textContent").startswith(
            "eventapi"
        )

        # Authorize offers the OAuth2 password flow against the token endpoint...
        assert page.evaluate("!!document.querySelector('.scheme-container .btn.authorize')")
        page.evaluate("document.querySelector('.scheme-container .btn.authorize').click()")
        page.wait_until("!!document.querySelector('.modal-ux #oauth_username')", 5, "auth dialog")
        dialog = page.evaluate("document.querySelector('.modal-ux').innerText")
        assert "OAuth2PasswordBearer (OAuth2, password)" in dialog
        assert "Token URL: /api/v1/auth/token" in dialog
        assert "Flow: password" in dialog
        assert page.evaluate("!!document.querySelector('.modal-ux #oauth_password')")

        # ...and signing in with it really gets a token from the app.
        page.type_into(".modal-ux #oauth_username", USER_EMAIL)
        page.type_into(".modal-ux #oauth_password", USER_PASSWORD)
        page.evaluate("document.querySelector('.modal-ux .btn.modal-btn.auth.authorize').click()")
        page.wait_until(
            "document.querySelector('.modal-ux').innerText.includes('Logout')", 10, "signed in"
        )
        assert "Authorized" in page.evaluate("document.querySelector('.modal-ux').innerText")
        page.evaluate("document.querySelector('.modal-ux .btn-done').click()")

        # "Try it out" on GET /api/v1/users/me sends the token: the app says who we are.
        me = "#operations-users-ApiV1UsersMeMe"
        page.evaluate(f"document.querySelector('{me} .opblock-summary-control').click()")
        page.wait_until(f"!!document.querySelector('{me} .try-out__btn')", 5, "operation opened")
        page.evaluate(f"document.querySelector('{me} .try-out__btn').click()")
        page.wait_until(f"!!document.querySelector('{me} .btn.execute')", 5, "try it out")
        page.evaluate(f"document.querySelector('{me} .btn.execute').click()")
        page.wait_until(
            f"!!document.querySelector('{me} .live-responses-table .response-col_status')",
            10,
            "response shown",
        )
        live = page.evaluate(f"document.querySelector('{me} .live-responses-table').innerText")
        assert "200" in live and USER_EMAIL in live, live

        _assert_page_stayed_home(page, app)
        _assert_csp_refused_only(page, frozenset())
    served = app.requests_since(mark)
    for asset in (
        "/schema/swagger",
        "/schema/assets/swagger-ui/swagger-ui-bundle.js",
        "/schema/assets/swagger-ui/swagger-ui-standalone-preset.js",
        "/schema/assets/swagger-ui/swagger-ui.css",
    ):
        assert _served_ok(app, mark, asset), f"the app did not serve {asset}: {served}"
    assert Served("POST", "/api/v1/auth/token", 200) in served
    assert Served("GET", "/api/v1/users/me", 200) in served
    _assert_sockets_only_to_loopback(chromium, app)


@pytest.mark.browser
def test_redoc_renders_offline(
    app: RunningApp, operations: list[dict[str, str]], chromium: Chromium
) -> None:
    mark = app.mark()
    with chromium.page() as page:
        _open_docs(
            page,
            app,
            "/schema/redoc",
            "document.querySelectorAll('[data-section-id^=\"operation/\"]').length"
            f" >= {len(operations)}",
        )
        rendered = page.evaluate(
            """[...document.querySelectorAll('[data-section-id^="operation/"]')]
                .map(section => section.dataset.sectionId.slice('operation/'.length))"""
        )
        assert sorted(rendered) == sorted(o["operation_id"] for o in operations)
        assert page.evaluate("document.querySelector('h1').textContent").startswith("eventapi")
        text = page.evaluate("document.body.textContent")
        assert "Create an attendee account" in text
        assert "/api/v1/events" in text
        _assert_page_stayed_home(page, app, allowed_csp_blocked=KNOWN_CSP_BLOCKED)
        _assert_csp_refused_only(page, KNOWN_CSP_BLOCKED)
    assert _served_ok(app, mark, "/schema/assets/redoc/redoc.standalone.js")
    _assert_sockets_only_to_loopback(chromium, app)


@pytest.mark.browser
def test_scalar_renders_offline(
    app: RunningApp, operations: list[dict[str, str]], chromium: Chromium
) -> None:
    mark = app.mark()
    with chromium.page() as page:
        _open_docs(
            page,
            app,
            "/schema/scalar",
            "document.body.innerText.includes('Create an attendee account')"
            " && document.body.innerText.includes('Events, registrations with waitlists')",
        )
        text = page.evaluate("document.body.innerText")
        assert "eventapi" in text
        assert "Events, registrations with waitlists" in text
        # The sidebar lists operations by tag; open every group, then read them all.
        page.wait_until(
            """(() => {
                const closed = [...document.querySelectorAll(
                    'aside [data-sidebar-id] > div > button[aria-expanded="false"]')];
                closed.forEach(button => button.click());
                return closed.length === 0;
            })()""",
            RENDER_SECONDS,
            "every sidebar group open",
        )
        entries = page.evaluate(
            """[...document.querySelectorAll('aside li[data-sidebar-id]')]
                .map(item => item.dataset.sidebarId)"""
        )
        rendered = set()
        for entry in entries:
            parts = entry.split("/", 4)  # api-1/tag/<tag>/<METHOD>/<path without its slash>
            if len(parts) == 5 and parts[1] == "tag" and parts[3].lower() in HTTP_METHODS:
                rendered.add((parts[3], "/" + parts[4]))
        assert rendered == {(o["method"], o["path"]) for o in operations}
        _assert_page_stayed_home(page, app)
        _assert_csp_refused_only(page, SCALAR_EVAL_PROBE)
    for asset in (
        "/schema/assets/scalar/standalone.js",
        "/schema/assets/scalar/eventapi.css",
        "/schema/openapi.json",
    ):
        assert _served_ok(app, mark, asset), f"the app did not serve {asset}"
    _assert_sockets_only_to_loopback(chromium, app)


def _register_reader(app: RunningApp) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{app.origin}/api/v1/auth/register",
        data=json.dumps(
            {"email": USER_EMAIL, "password": USER_PASSWORD, "full_name": "Docs Reader"}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
