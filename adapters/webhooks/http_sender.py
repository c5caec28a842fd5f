"""POSTing a signed webhook to a subscriber's URL, guarded against SSRF.

A webhook URL is chosen by a user, so the worker must not become a way to reach
what only the server can reach (its loopback, the private network, the cloud's
metadata service at 169.254.169.254). `HttpWebhookSender.send`:

1. parses the URL with httpx's parser and refuses any scheme but `https` (`http`
   too with `allow_http`), credentials in the URL and an empty host;
2. resolves the host *now* (`loop.getaddrinfo`, which also reads literal
   addresses in every form it accepts: `127.1`, `0x7f000001`, `2130706433`,
   `[::ffff:127.0.0.1]`) and refuses the URL if *any* address is loopback,
   private, link-local, multicast, unspecified, reserved or otherwise not public
   (`refusal`), unless `allow_private`; an IPv6 address carrying an IPv4 one
   (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4) is judged by the IPv4 address;
3. connects only to the addresses that were checked: the request goes through
   httpcore with a network backend pinned to them (`_PinnedBackend`), so no second
   lookup can answer differently (DNS rebinding). The `Host` header, and for
   https the SNI and the certificate check, still use the URL's host name;
4. never follows a redirect (httpcore does not), ignores proxy variables, bounds
   the whole exchange (resolution included) by `timeout`, and reads at most
   `max_response_bytes` of the response body before hanging up; the status
   counts even when the body is cut short. Only the status is returned.

Nothing here logs: neither the URL (its query may carry a token) nor the
signature header. Errors say why without echoing the URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import httpcore
import httpx

from application.ports.webhooks import DestinationRefused, WebhookResponse

USER_AGENT: Final = "eventapi-webhooks/1"
DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: A DNS name (IDNA already applied by httpx), an IPv4 or a bracket-less IPv6 literal;
#: no percent-encoding, no IPv6 zone.
_HOST: Final = re.compile(rb"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")
_NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
_REFUSED_KINDS: Final = (
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_unspecified", "unspecified"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)


def refusal(address: IPAddress) -> str | None:
    """Why the guard refuses to connect to `address`, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None:
            return "a Teredo tunnel address"
        if address in _NAT64_LOCAL_USE:
            return "a local-use NAT64 address"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal(embedded)
            return None if reason is None else f"{reason} (an IPv4 address inside IPv6)"
        if address.is_site_local:
            return "site-local"
    for attribute, kind in _REFUSED_KINDS:
        if getattr(address, attribute):
            return kind
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


class HttpWebhookSender:
    """The `WebhookSender` for real endpoints (see the module docstring).

    `allow_http` and `allow_private` are EVENTAPI_WEBHOOK_ALLOW_HTTP and
    EVENTAPI_WEBHOOK_ALLOW_PRIVATE: off in production, on for tests against a
    receiver on loopback and for endpoints on a private network. `ssl_context`
    replaces the default trust store (certifi) for https, for tests with their
    own certificate authority.
    """

    def __init__(
        self,
        *,
        allow_http: bool,
        allow_private: bool,
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout <= 0 or max_response_bytes < 0:
            raise ValueError("the timeout must be positive and the response cap not negative")
        self._allow_http = allow_http
        self._allow_private = allow_private
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._ssl_context = httpx.create_ssl_context() if ssl_context is None else ssl_context

    async def send(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """POST `body` to `url`. Raises `DestinationRefused` when the guard refuses,
        `TimeoutError` when the exchange outlasts the timeout and `ConnectionError`
        when the endpoint cannot be resolved, reached or understood."""
        target = self._target(url)
        try:
            async with asyncio.timeout(self._timeout):
                addresses = await self._resolve(target.host, target.port)
                return await self._post(target, addresses, body, headers)
        except httpcore.TimeoutException:
            raise TimeoutError(f"the endpoint did not answer within {self._timeout}s") from None
        except TimeoutError:
            raise TimeoutError(f"the endpoint did not answer within {self._timeout}s") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise ConnectionError(f"the endpoint failed: {type(exc).__name__}: {exc}") from None

    def _target(self, url: str) -> _Target:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            raise DestinationRefused("the webhook URL is not a valid URL") from None
        allowed = ("https", "http") if self._allow_http else ("https",)
        if parsed.scheme not in allowed:
            only = " or ".join(f"{scheme}://" for scheme in allowed)
            raise DestinationRefused(f"the webhook URL must start with {only}")
        if parsed.userinfo:
            raise DestinationRefused("the webhook URL may not carry a user name or password")
        if not parsed.raw_host:
            raise DestinationRefused("the webhook URL has no host")
        if not _HOST.fullmatch(parsed.raw_host):
            raise DestinationRefused("the webhook URL's host is not a host name or an address")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return _Target(parsed, parsed.raw_host.decode("ascii"), port)

    async def _resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except socket.gaierror as exc:
            raise ConnectionError(
                f"the webhook host could not be resolved: {exc.strerror}"
            ) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise ConnectionError("the webhook host resolved to no address")
        if not self._allow_private:
            for address in addresses:
                reason = refusal(ipaddress.ip_address(address.partition("%")[0]))
                if reason is not None:
                    raise DestinationRefused(
                        f"the webhook host resolves to {address.partition('%')[0]}, "
                        f"which is {reason}; only public addresses may be called"
                    )
        return addresses

    async def _post(
        self, target: _Target, addresses: Sequence[str], body: bytes, headers: Mapping[str, str]
    ) -> WebhookResponse:
        merged = {"user-agent": USER_AGENT, "content-type": "application/json"}
        merged.update((name.lower(), value) for name, value in headers.items())
        request_headers: list[tuple[bytes | str, bytes | str]] = list(merged.items())
        url = httpcore.URL(
            scheme=target.url.raw_scheme,
            host=target.url.raw_host,
            port=target.url.port,
            target=target.url.raw_path,
        )
        async with (
            httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                max_connections=1,
                retries=0,
                network_backend=_PinnedBackend(target.host, addresses),
            ) as pool,
            pool.stream(
                "POST",
                url,
                headers=request_headers,
                content=body,
                extensions={"timeout": dict.fromkeys(_PHASES, self._timeout)},
            ) as response,
        ):
            read = 0
            async for chunk in response.aiter_stream():
                read += len(chunk)
                if read >= self._max_response_bytes:
                    break  # hang up: the status is all that counts
            return WebhookResponse(status=response.status)


_PHASES: Final = ("connect", "read", "write", "pool")


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: str
    port: int


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses the guard checked (in order, the next one when a
    connection fails) instead of looking the host name up again."""

    def __init__(self, host: str, addresses: Sequence[str]) -> None:
        self._host = host
        self._addresses = tuple(addresses)
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != self._host:
            raise DestinationRefused("a connection to another host than the checked one")
        failure: Exception = httpcore.ConnectError("no address to connect to")
        for address in self._addresses:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("webhooks are never sent over a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
