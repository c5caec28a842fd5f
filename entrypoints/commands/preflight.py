"""Checks a command makes before it starts work, each failing as one line that names
the setting and the fix (`ConfigurationError`: exit status 2, no traceback).

Each command checks what it uses, and only that: the database (every command but
`openapi`), the Redis URL (`serve`, for shared rate limits), the SMTP URL (`worker`,
and `serve` when it delivers mail itself), the port (`serve`, before migrating).
Failures while the command runs (the database going away) are the storage
adapter's to report.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from urllib.parse import urlsplit

from redis.asyncio.connection import parse_url as parse_redis_url
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from application.ports.storage import StorageUnavailable
from entrypoints.container import Container
from entrypoints.integrations import smtp_relay
from entrypoints.settings import ConfigurationError, Settings

#: SQLSTATEs of a connection PostgreSQL refused: no such database, and bad credentials
#: (no such role, wrong password, no pg_hba.conf entry).
INVALID_CATALOG_NAME = "3D000"
INVALID_AUTHORIZATION = ("28000", "28P01")


def check_redis(settings: Settings) -> None:
    """EVENTAPI_REDIS_URL, when set, is a URL the Redis client accepts."""
    redis_url = settings.rate_limits.redis_url
    if not redis_url:
        return
    try:
        options = parse_redis_url(redis_url)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"EVENTAPI_REDIS_URL is not a Redis URL ({_reason(exc)}); write "
            "redis://[:password@]host:6379/0, rediss://... (TLS) or unix:///path/redis.sock"
        ) from None
    path = urlsplit(redis_url).path.strip("/")
    if not redis_url.startswith("unix:") and path and "db" not in options:
        raise ConfigurationError(
            f"EVENTAPI_REDIS_URL: the database after the host must be a number, not {path!r}; "
            "write redis://[:password@]host:6379/0"
        )


def check_mail(settings: Settings) -> None:
    """EVENTAPI_SMTP_URL, when set, is a relay URL eventapi understands."""
    if settings.mail.smtp_url:
        smtp_relay(settings.mail.smtp_url)


def check_port_free(host: str, port: int) -> None:
    """Nothing else listens on host:port (uvicorn binds it the same way, later)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigurationError(f"--host {host}: {exc.strerror}; give an address") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"--port {port}: something already listens on {host}:{port}; "
                    "stop it or choose another --port"
                ) from None
            raise ConfigurationError(
                f"--host {host} --port {port}: cannot listen there ({exc.strerror})"
            ) from None


async def check_database(container: Container) -> None:
    """The database in EVENTAPI_DATABASE_URL exists and lets us in.

    On SQLite the data folder (EVENTAPI_DATA_DIR) is created here, as the embedded
    default's database lives in it."""
    settings = container.settings()
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        where = f"the SQLite database {url.database}"
        if url.database and not Path(url.database).parent.is_dir():
            raise ConfigurationError(_cannot_open(where, "its folder does not exist"))
    else:
        where = f"PostgreSQL at {url.host or 'the local socket'}:{url.port or 5432}"
    try:
        async with container.engine().connect():
            pass
    except DBAPIError as exc:
        raise ConfigurationError(_refusal(exc, url, where)) from None
    except (StorageUnavailable, OSError, TimeoutError) as exc:  # unreachable
        raise ConfigurationError(
            f"EVENTAPI_DATABASE_URL: cannot reach {where} ({_reason(exc.__cause__ or exc)}); "
            "start it, or fix the host and port"
        ) from None


def _refusal(exc: DBAPIError, url: URL, where: str) -> str:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    reason = _reason(exc.orig or exc)
    if sqlstate == INVALID_CATALOG_NAME:
        name = url.database or url.username or "postgres"
        options = [("-h", url.host), ("-p", url.port), ("-U", url.username)]
        command = " ".join(
            ["createdb", *(f"{flag} {value}" for flag, value in options if value), name]
        )
        return (
            f'EVENTAPI_DATABASE_URL: database "{name}" does not exist on {where}; '
            f"create it (`{command}`), then run `eventapi migrate`"
        )
    if sqlstate in INVALID_AUTHORIZATION:
        return (
            f"EVENTAPI_DATABASE_URL: {where} refused the user name or password ({reason}); "
            "fix the credentials in the URL"
        )
    if "unable to open database file" in reason:
        return _cannot_open(where, reason)
    return f"EVENTAPI_DATABASE_URL: cannot use {where} ({reason})"


def _cannot_open(where: str, reason: str) -> str:
    return (
        f"EVENTAPI_DATABASE_URL: cannot open {where} ({reason}); create its folder, or fix the path"
    )


def _reason(exc: BaseException) -> str:
    """The first line of an error's message, without SQLAlchemy's class prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("<class '"):
        text = text.split(": ", 1)[-1]
    return text
