"""A webhook receiver on 127.0.0.1 for the tests (http.server in a thread, port 0).

It records every request (path, headers, body) and answers each path the way the
test scripted with `behave(path, Behaviour(...))` (default: 204):

- `Behaviour()`                      succeed (any status with `status=`);
- `Behaviour(fail_first=3)`          answer 500 three times, then succeed;
- `Behaviour(slow=True)`             hold the answer until `release()` (called at
                                     close), longer than any sender timeout: no timer;
- `Behaviour(huge=8 * MiB)`          a 200 whose body has that many bytes, streamed;
                                     `answers` records how much got written before
                                     the client hung up;
- `Behaviour(redirect_to=url)`       302 with `Location: url`.

`WebhookReceiver(tls=server_context)` answers https instead (`tls_for(name)` makes a
certificate for a host name and the client context that trusts it).

Usable from sync and async tests alike, and from other processes (the worker): it
runs in its own thread. Waiting for deliveries blocks on a condition
(`wait_for`, or `await arrivals(...)` from async code), never on a sleep.

    with WebhookReceiver() as receiver:
        receiver.behave("/flaky", Behaviour(fail_first=2))
        ... receiver.url_for("/flaky") ...
        [request] = receiver.wait_for(1, path="/flaky")
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

LOOPBACK = "127.0.0.1"
MiB = 1024 * 1024
_CHUNK = 64 * 1024
_WAIT = 30.0


@dataclass(frozen=True)
class Behaviour:
    status: int = 204
    fail_first: int = 0
    slow: bool = False
    huge: int = 0
    redirect_to: str | None = None


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    #: Header names in lower case.
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answered:
    path: str
    status: int
    #: Body bytes the receiver managed to write before the client hung up.
    body_bytes_written: int
    #: The whole body was written (False: the client hung up early).
    complete: bool


@dataclass
class WebhookReceiver:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    answers: list[Answered] = field(default_factory=list)
    #: Serve https with this server context (see `tls_for`).
    tls: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._seen: dict[str, int] = {}
        self._http = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        if self.tls is not None:  # the handshake happens in the handler's thread
            self._http.socket = self.tls.wrap_socket(
                self._http.socket, server_side=True, do_handshake_on_connect=False
            )
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.release()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.close)

    # -- scripting ------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def url_for(self, path: str = "/") -> str:
        return self.url + path

    def behave(self, path: str, behaviour: Behaviour) -> None:
        with self._changed:
            self.behaviours[path] = behaviour
            self._seen[path] = 0

    def release(self) -> None:
        """Let every held (slow) answer go, and answer later slow requests at once."""
        self._released.set()

    def hold(self) -> None:
        """Hold slow answers again (after a `release`)."""
        self._released.clear()

    # -- observing ------------------------------------------------------------

    def requests_to(self, path: str) -> list[Received]:
        with self._changed:
            return [r for r in self.requests if r.path == path]

    def wait_for(
        self, count: int, *, path: str | None = None, timeout: float = _WAIT
    ) -> list[Received]:
        """The first `count` requests (to `path`, if given) once they have arrived;
        AssertionError if they do not within `timeout` seconds."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: len(self._matching(path)) >= count, timeout=timeout
            )
            matching = self._matching(path)
        assert arrived, f"{len(matching)} of {count} webhook requests arrived in {timeout}s"
        return matching[:count]

    async def arrivals(
        self, count: int, *, path: str | None = None, within: float = _WAIT
    ) -> list[Received]:
        """`wait_for` for async tests (waits in a thread, the event loop runs on)."""
        return await asyncio.to_thread(self.wait_for, count, path=path, timeout=within)

    def wait_for_answers(self, count: int, *, timeout: float = _WAIT) -> list[Answered]:
        """The first `count` finished answers (a huge one finishes when the client
        hangs up or the body is out)."""
        with self._changed:
            done = self._changed.wait_for(lambda: len(self.answers) >= count, timeout=timeout)
            answers = list(self.answers)
        assert done, f"{len(answers)} of {count} answers finished in {timeout}s"
        return answers[:count]

    def _matching(self, path: str | None) -> list[Received]:
        return [r for r in self.requests if path is None or r.path == path]

    # -- called by the handler thread -----------------------------------------

    def _record(self, request: Received) -> tuple[Behaviour, int]:
        """The behaviour for this request and how many came to its path before it."""
        with self._changed:
            self.requests.append(request)
            behaviour = self.behaviours.get(request.path, Behaviour())
            earlier = self._seen.get(request.path, 0)
            self._seen[request.path] = earlier + 1
            self._changed.notify_all()
            return behaviour, earlier

    def _answered(self, answer: Answered) -> None:
        with self._changed:
            self.answers.append(answer)
            self._changed.notify_all()


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            self.handshake_failed = False
            if isinstance(self.request, ssl.SSLSocket):
                self.request.settimeout(_WAIT)
                try:
                    self.request.do_handshake()
                except OSError:  # ssl.SSLError too: the client refused our certificate
                    self.handshake_failed = True
            super().setup()

        def handle(self) -> None:
            if not self.handshake_failed:
                super().handle()

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            path = self.path.partition("?")[0]
            behaviour, earlier = receiver._record(Received(self.command, path, headers, body))
            if behaviour.slow and not receiver._released.wait(timeout=_WAIT):
                return
            written, complete, status = 0, False, behaviour.status
            with contextlib.suppress(OSError):  # the client may have hung up
                if earlier < behaviour.fail_first:
                    status = 500
                    self._answer(500, b'{"error":"scripted failure"}')
                elif behaviour.redirect_to is not None:
                    status = 302
                    self._answer(302, b"", location=behaviour.redirect_to)
                elif behaviour.huge:
                    status = 200
                    self._answer_headers(200, behaviour.huge)
                    for chunk in _zeros(behaviour.huge):
                        self.wfile.write(chunk)
                        written += len(chunk)
                    self.wfile.flush()
                else:
                    self._answer(behaviour.status, b"" if behaviour.status == 204 else b"ok")
                complete = True
            if not complete:
                self.close_connection = True
            receiver._answered(Answered(path, status, written, complete))

        def _answer(self, status: int, body: bytes, *, location: str | None = None) -> None:
            self._answer_headers(status, len(body), location=location)
            self.wfile.write(body)
            self.wfile.flush()

        def _answer_headers(self, status: int, length: int, *, location: str | None = None) -> None:
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            if status != 204:
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(length))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet

    return Handler


def _zeros(size: int) -> Iterator[bytes]:
    chunk = bytes(_CHUNK)
    for start in range(0, size, _CHUNK):
        yield chunk[: min(_CHUNK, size - start)]


def tls_for(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for the DNS name `name`: (server context for
    `WebhookReceiver(tls=...)`, client context that trusts only it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:  # load_cert_chain reads files only
        certificate_file, key_file = Path(directory, "cert.pem"), Path(directory, "key.pem")
        certificate_file.write_bytes(certificate_pem)
        key_file.write_bytes(key_pem)
        server.load_cert_chain(certificate_file, key_file)
    client = ssl.create_default_context(cadata=certificate_pem.decode("ascii"))
    return server, client
