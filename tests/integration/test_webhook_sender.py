"""The HTTP webhook sender against a real receiver on loopback: what it sends, what
it makes of the answers, and the SSRF guard (docs/security.md, "Webhook
destinations (SSRF)"). Nothing here leaves the machine: refused URLs are refused
before any connection, and the only host names are `localhost` and names a test
resolves itself."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.webhooks import HttpWebhookSender
from application import webhook_signing
from application.ports.webhooks import DestinationRefused, WebhookSender
from tests.webhook_receiver import Behaviour, MiB, WebhookReceiver, tls_for

BODY = b'{"type":"webhook.ping","timestamp":"2026-11-30T06:00:00Z","data":{}}'


def _headers() -> dict[str, str]:
    return webhook_signing.headers(
        [webhook_signing.new_secret()],
        message_id="msg_0193a5c47e1f7b2a9c3d4e5f60718293",
        timestamp=int(time.time()),
        body=BODY,
    )


def _open_sender(timeout: float = 10.0) -> HttpWebhookSender:
    """Both switches on, as the tests against a loopback receiver run it."""
    return HttpWebhookSender(allow_http=True, allow_private=True, timeout=timeout)


def _guarded_sender() -> HttpWebhookSender:
    """http allowed (so only the address decides), private addresses refused."""
    return HttpWebhookSender(allow_http=True, allow_private=False)


@pytest.fixture
def other_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def test_it_is_a_webhook_sender() -> None:
    sender: WebhookSender = _open_sender()
    assert sender is not None


async def test_a_2xx_is_delivered_with_the_body_and_headers_as_given(
    webhook_receiver: WebhookReceiver,
) -> None:
    headers = _headers()
    response = await _open_sender().send(
        webhook_receiver.url_for("/hook?source=eventapi"), body=BODY, headers=headers
    )

    assert response.status == 204
    assert response.delivered
    [request] = webhook_receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.body == BODY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{webhook_receiver.port}"
    assert request.headers["user-agent"].startswith("eventapi-webhooks/")
    for name, value in headers.items():
        assert request.headers[name] == value


@pytest.mark.parametrize("status", [200, 201, 202, 299])
async def test_any_2xx_counts_as_delivered(webhook_receiver: WebhookReceiver, status: int) -> None:
    webhook_receiver.behave("/", Behaviour(status=status))
    response = await _open_sender().send(webhook_receiver.url, body=BODY, headers=_headers())
    assert response.status == status
    assert response.delivered


async def test_a_500_is_an_answer_that_does_not_deliver_and_a_retry_may_succeed(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.behave("/flaky", Behaviour(fail_first=2))
    sender = _open_sender()
    url = webhook_receiver.url_for("/flaky")

    statuses = [(await sender.send(url, body=BODY, headers=_headers())).status for _ in range(3)]

    assert statuses == [500, 500, 204]
    assert len(webhook_receiver.requests_to("/flaky")) == 3


async def test_a_redirect_is_not_followed(
    webhook_receiver: WebhookReceiver, other_receiver: WebhookReceiver
) -> None:
    webhook_receiver.behave("/moved", Behaviour(redirect_to=other_receiver.url_for("/")))

    response = await _open_sender().send(
        webhook_receiver.url_for("/moved"), body=BODY, headers=_headers()
    )

    assert response.status == 302
    assert not response.delivered
    assert other_receiver.requests == []


async def test_a_redirect_to_a_private_address_is_not_followed(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.behave("/", Behaviour(redirect_to="http://169.254.169.254/latest/meta-data/"))
    response = await _open_sender().send(webhook_receiver.url, body=BODY, headers=_headers())
    assert response.status == 302
    assert len(webhook_receiver.requests) == 1


async def test_a_slow_endpoint_times_out(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.behave("/", Behaviour(slow=True))
    sender = _open_sender(timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await sender.send(webhook_receiver.url, body=BODY, headers=_headers())

    assert time.monotonic() - started < 5
    assert len(webhook_receiver.requests) == 1  # it got there, and was never answered


async def test_a_held_answer_goes_out_when_the_test_releases_it(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.behave("/", Behaviour(slow=True))
    sending = asyncio.create_task(
        _open_sender().send(webhook_receiver.url, body=BODY, headers=_headers())
    )
    await webhook_receiver.arrivals(1)
    assert not sending.done()

    webhook_receiver.release()

    assert (await sending).delivered


async def test_a_huge_response_is_not_read_beyond_the_cap(
    webhook_receiver: WebhookReceiver,
) -> None:
    size = 64 * MiB  # far more than loopback's socket buffers hold
    webhook_receiver.behave("/", Behaviour(huge=size))

    response = await _open_sender().send(webhook_receiver.url, body=BODY, headers=_headers())

    assert response.status == 200
    assert response.delivered
    [answer] = await asyncio.to_thread(webhook_receiver.wait_for_answers, 1)
    assert not answer.complete, "the sender read the whole body"
    assert answer.body_bytes_written < size


async def test_an_unreachable_endpoint_is_a_connection_error(
    webhook_receiver: WebhookReceiver,
) -> None:
    url = webhook_receiver.url
    await asyncio.to_thread(webhook_receiver.close)  # nothing listens on that port now
    with pytest.raises(ConnectionError):
        await _open_sender().send(url, body=BODY, headers=_headers())


# -- the guard ------------------------------------------------------------------

LOOPBACK_FORMS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://127.1:{port}/",
    "http://0x7f000001:{port}/",
    "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[64:ff9b::127.0.0.1]:{port}/",
    "http://[2002:7f00:1::1]:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::]:{port}/",
]


@pytest.mark.parametrize("template", LOOPBACK_FORMS)
async def test_loopback_in_any_form_is_refused(
    webhook_receiver: WebhookReceiver, template: str
) -> None:
    url = template.format(port=webhook_receiver.port)
    with pytest.raises(DestinationRefused):
        await _guarded_sender().send(url, body=BODY, headers=_headers())
    assert webhook_receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://198.18.0.1/",
    ],
)
async def test_private_link_local_multicast_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await _guarded_sender().send(url, body=BODY, headers=_headers())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "https://user:password@example.com/",
        "https://user@example.com/",
        "https:///no-host",
        "https://exa%2fmple.com/",
        "https://[fe80::1%25eth0]/",
        "example.com/no-scheme",
        "",
    ],
)
async def test_only_https_urls_without_credentials_are_called(url: str) -> None:
    sender = HttpWebhookSender(allow_http=False, allow_private=True)
    with pytest.raises(DestinationRefused):
        await sender.send(url, body=BODY, headers=_headers())


async def test_http_is_refused_unless_allowed_even_to_an_allowed_address(
    webhook_receiver: WebhookReceiver,
) -> None:
    sender = HttpWebhookSender(allow_http=False, allow_private=True)
    with pytest.raises(DestinationRefused, match="https://"):
        await sender.send(webhook_receiver.url, body=BODY, headers=_headers())
    assert webhook_receiver.requests == []


async def test_the_refusal_does_not_echo_the_url() -> None:
    secret_query = "token=s3cr3t-value"
    with pytest.raises(DestinationRefused) as refused:
        await _guarded_sender().send(
            f"http://127.0.0.1/hook?{secret_query}", body=BODY, headers=_headers()
        )
    assert "s3cr3t" not in str(refused.value)
    assert "loopback" in str(refused.value)


# -- resolution at send time, and pinning ------------------------------------------

Resolver = Callable[..., Any]


@pytest.fixture
def resolve_as(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[str]], list[str]]:
    """Makes this test's event loop resolve `name` to `addresses` (everything else as
    usual); returns the list of lookups of `name`, to count them."""

    def install(name: str, addresses: list[str]) -> list[str]:
        running = asyncio.get_running_loop()
        real: Resolver = running.getaddrinfo
        lookups: list[str] = []

        async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != name:
                return await real(host, port, *args, **kwargs)
            lookups.append(host)
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (address, int(port or 0)),
                )
                for address in addresses
            ]

        monkeypatch.setattr(running, "getaddrinfo", getaddrinfo)
        return lookups

    return install


async def test_a_name_resolving_to_loopback_is_refused_at_send_time(
    webhook_receiver: WebhookReceiver, resolve_as: Callable[[str, list[str]], list[str]]
) -> None:
    lookups = resolve_as("hooks.example.test", ["127.0.0.1"])
    with pytest.raises(DestinationRefused, match="loopback"):
        await _guarded_sender().send(
            f"http://hooks.example.test:{webhook_receiver.port}/", body=BODY, headers=_headers()
        )
    assert lookups == ["hooks.example.test"]
    assert webhook_receiver.requests == []


async def test_a_name_with_one_private_address_among_public_ones_is_refused(
    resolve_as: Callable[[str, list[str]], list[str]],
) -> None:
    resolve_as("mixed.example.test", ["93.184.215.14", "10.1.2.3"])
    with pytest.raises(DestinationRefused, match="private"):
        await _guarded_sender().send("http://mixed.example.test/", body=BODY, headers=_headers())


async def test_the_connection_goes_to_the_checked_address_without_a_second_lookup(
    webhook_receiver: WebhookReceiver, resolve_as: Callable[[str, list[str]], list[str]]
) -> None:
    # The name exists nowhere but in this test's resolver: had anything looked it up
    # again (httpcore, anyio), the connection would have failed.
    lookups = resolve_as("pinned.example.test", ["127.0.0.1"])
    response = await _open_sender().send(
        f"http://pinned.example.test:{webhook_receiver.port}/hook", body=BODY, headers=_headers()
    )
    assert response.delivered
    assert lookups == ["pinned.example.test"]
    [request] = webhook_receiver.requests
    assert request.headers["host"] == f"pinned.example.test:{webhook_receiver.port}"


async def test_the_next_checked_address_is_tried_when_one_refuses_connections(
    webhook_receiver: WebhookReceiver, resolve_as: Callable[[str, list[str]], list[str]]
) -> None:
    # 127.0.0.2 is loopback too, but nothing listens on it at the receiver's port.
    resolve_as("two.example.test", ["127.0.0.2", "127.0.0.1"])
    response = await _open_sender().send(
        f"http://two.example.test:{webhook_receiver.port}/", body=BODY, headers=_headers()
    )
    assert response.delivered


# -- https: the pinned connection still checks the certificate against the name ----

TLS_NAME = "tls.example.test"


@pytest.fixture
def tls_receiver() -> Iterator[tuple[WebhookReceiver, ssl.SSLContext]]:
    server, client = tls_for(TLS_NAME)
    with WebhookReceiver(tls=server) as receiver:
        yield receiver, client


async def test_https_goes_to_the_pinned_address_with_the_name_for_sni_and_certificate(
    tls_receiver: tuple[WebhookReceiver, ssl.SSLContext],
    resolve_as: Callable[[str, list[str]], list[str]],
) -> None:
    receiver, trust = tls_receiver
    lookups = resolve_as(TLS_NAME, ["127.0.0.1"])
    sender = HttpWebhookSender(allow_http=False, allow_private=True, ssl_context=trust)

    response = await sender.send(
        f"https://{TLS_NAME}:{receiver.port}/hook", body=BODY, headers=_headers()
    )

    assert response.delivered
    assert lookups == [TLS_NAME]
    [request] = receiver.requests
    assert request.headers["host"] == f"{TLS_NAME}:{receiver.port}"
    assert request.body == BODY


async def test_a_certificate_for_another_name_fails_the_delivery(
    resolve_as: Callable[[str, list[str]], list[str]],
) -> None:
    server, trust = tls_for("someone-else.example.test")
    resolve_as(TLS_NAME, ["127.0.0.1"])
    sender = HttpWebhookSender(allow_http=False, allow_private=True, ssl_context=trust)
    with WebhookReceiver(tls=server) as receiver:
        with pytest.raises(ConnectionError, match="certificate verify failed"):
            await sender.send(f"https://{TLS_NAME}:{receiver.port}/", body=BODY, headers=_headers())
        assert receiver.requests == []


async def test_the_certificate_is_checked_against_the_url_not_the_address(
    tls_receiver: tuple[WebhookReceiver, ssl.SSLContext],
) -> None:
    receiver, trust = tls_receiver
    sender = HttpWebhookSender(allow_http=False, allow_private=True, ssl_context=trust)
    with pytest.raises(ConnectionError, match="certificate verify failed"):
        await sender.send(receiver.url_for("/"), body=BODY, headers=_headers())
    assert receiver.requests == []


async def test_without_the_test_authority_a_self_signed_endpoint_is_not_trusted(
    tls_receiver: tuple[WebhookReceiver, ssl.SSLContext],
    resolve_as: Callable[[str, list[str]], list[str]],
) -> None:
    receiver, _trust = tls_receiver
    resolve_as(TLS_NAME, ["127.0.0.1"])
    sender = HttpWebhookSender(allow_http=False, allow_private=True)  # the default trust store
    with pytest.raises(ConnectionError, match="certificate verify failed"):
        await sender.send(f"https://{TLS_NAME}:{receiver.port}/", body=BODY, headers=_headers())
    assert receiver.requests == []
