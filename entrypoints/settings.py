"""Configuration from `EVENTAPI_*` environment variables (see docs/configuration.md).

With nothing set, eventapi runs embedded: SQLite in ./data, an in-process rate
limiter, mail to a local sink, and a secret key generated once into ./data.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from application.ports.rate_limiter import Rate

MIN_SECRET_BYTES = 32
MAX_RATE_REQUESTS = 1_000_000
MAX_RATE_SECONDS = 24 * 60 * 60
_RATE = re.compile(r"(?P<requests>[0-9]{1,7})\s*(?:/\s*(?P<seconds>[0-9]{1,6}))?")
#: Redis key prefixes: printable, no spaces or glob characters (`*?[]`), which the
#: tests' and operators' `SCAN MATCH prefix:*` would misread.
_KEY_PREFIX = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class ConfigurationError(Exception):
    """The configuration cannot work; the process refuses to start."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    environment: str = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    #: Connections each process keeps open to PostgreSQL (as many more open under
    #: bursts), and the seconds a request waits for one before it is refused with 503.
    database_pool_size: int = 10
    database_pool_timeout: int = 10
    redis_url: str | None = None
    smtp_url: str | None = None
    secret_key: bytes = b""
    previous_secret_keys: tuple[bytes, ...] = ()
    rate_limits: bool = True
    #: Requests per window (`_seconds`) of each rate-limit policy, from
    #: EVENTAPI_RATE_LIMIT_* as `REQUESTS/SECONDS`; the API contract's defaults:
    #: anonymous callers per address and signed-in callers per user, per minute;
    #: POST /auth/token per address per minute; POST /auth/register per address
    #: per hour; joining events per user per minute; password checks per account
    #: per 15 minutes.
    rate_limit_anonymous: int = 120
    rate_limit_anonymous_seconds: int = 60
    rate_limit_user: int = 600
    rate_limit_user_seconds: int = 60
    rate_limit_token: int = 20
    rate_limit_token_seconds: int = 60
    rate_limit_register: int = 10
    rate_limit_register_seconds: int = 60 * 60
    rate_limit_join: int = 30
    rate_limit_join_seconds: int = 60
    rate_limit_password_checks: int = 10
    rate_limit_password_checks_seconds: int = 15 * 60
    #: Every Redis key this service writes starts with this (one Redis, many deployments).
    redis_key_prefix: str = "eventapi"
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    password_min_length: int = 12
    password_max_length: int = 128
    bcrypt_rounds: int = 12
    access_token_minutes: int = 15
    metrics: bool = True
    #: When set, GET /metrics asks for `Authorization: Bearer <this>`.
    metrics_token: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    mail_from: str = "eventapi <noreply@eventapi.invalid>"
    #: off, nominatim or google (see docs/notifications.md).
    geocoder: str = "off"
    geocoder_key: str | None = None
    #: The provider's base URL; None for its public service.
    geocoder_url: str | None = None
    #: auto, on or off: whether the web app delivers the outbox itself (see
    #: `runs_inprocess_worker`); `eventapi worker` does it as a process of its own.
    inprocess_worker: str = "auto"
    #: auto, json or text: how log records are written (auto: text on a terminal, else json).
    log_format: str = "auto"
    #: Days a sent (or skipped) outbox row is kept before the worker purges it.
    outbox_retention_days: int = 30
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def derived_key(self, purpose: str, secret: bytes | None = None) -> bytes:
        """A separate key per purpose, so one leak does not give away the others."""
        return hmac.new(secret or self.secret_key, purpose.encode(), hashlib.sha256).digest()

    @property
    def token_keys(self) -> dict[str, bytes]:
        """Access-token keys by `kid`: the current secret's and the previous ones',
        so rotating EVENTAPI_SECRET_KEY signs nobody out before their token expires."""
        return {
            _kid(secret): self.derived_key("access-tokens", secret)
            for secret in (self.secret_key, *self.previous_secret_keys)
        }

    @property
    def password_pepper(self) -> bytes:
        return self.derived_key("password-pepper")

    @property
    def previous_password_peppers(self) -> tuple[bytes, ...]:
        """Hashes made under a previous secret key keep verifying (and get rehashed)."""
        return tuple(self.derived_key("password-pepper", old) for old in self.previous_secret_keys)

    @property
    def runs_inprocess_worker(self) -> bool:
        """`on`, `off`, or `auto`: on for the embedded SQLite database, off otherwise
        (PostgreSQL deployments run `eventapi worker` processes instead)."""
        if self.inprocess_worker == "auto":
            return self.database_url.startswith("sqlite")
        return self.inprocess_worker == "on"

    @property
    def outbox_retention(self) -> timedelta:
        return timedelta(days=self.outbox_retention_days)

    @property
    def token_kid(self) -> str:
        return _kid(self.secret_key)

    @property
    def access_token_ttl(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)

    @property
    def rate_limiter_backend(self) -> str:
        """`redis` (shared by every process) when Redis is configured, else `memory`."""
        return "redis" if self.redis_url else "memory"

    @property
    def rate_limit_key_prefix(self) -> str:
        return f"{self.redis_key_prefix}:rl"

    @property
    def password_check_rate(self) -> Rate | None:
        """Password checks per account per 15 minutes; None when rate limits are off."""
        if not self.rate_limits:
            return None
        return Rate(
            "password-checks",
            self.rate_limit_password_checks,
            self.rate_limit_password_checks_seconds,
        )

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        read = _Reader(os.environ if env is None else env)
        environment = read.text("ENV", "development").lower()
        if environment not in {"development", "production", "test"}:
            raise ConfigurationError("EVENTAPI_ENV must be development, production or test")
        data_dir = Path(read.text("DATA_DIR", "data"))
        geocoding = _geocoding(read)
        anonymous = read.rate("RATE_LIMIT_ANONYMOUS", 120, 60)
        user = read.rate("RATE_LIMIT_USER", 600, 60)
        token = read.rate("RATE_LIMIT_TOKEN", 20, 60)
        register = read.rate("RATE_LIMIT_REGISTER", 10, 60 * 60)
        join = read.rate("RATE_LIMIT_JOIN", 30, 60)
        password_checks = read.rate("RATE_LIMIT_PASSWORD_CHECKS", 10, 15 * 60)
        return cls(
            environment=environment,
            data_dir=data_dir,
            database_url=database_url(read.text("DATABASE_URL"), data_dir),
            database_pool_size=read.number("DATABASE_POOL_SIZE", 10, low=1, high=1000),
            database_pool_timeout=read.number("DATABASE_POOL_TIMEOUT", 10, low=1, high=600),
            redis_url=read.text("REDIS_URL") or None,
            smtp_url=read.text("SMTP_URL") or None,
            secret_key=_secret_key(
                read.text("SECRET_KEY"), data_dir, production=environment == "production"
            ),
            previous_secret_keys=tuple(
                _checked_key(key, "EVENTAPI_PREVIOUS_SECRET_KEYS")
                for key in read.items("PREVIOUS_SECRET_KEYS")
            ),
            rate_limits=read.flag("RATE_LIMITS", default=True),
            rate_limit_anonymous=anonymous[0],
            rate_limit_anonymous_seconds=anonymous[1],
            rate_limit_user=user[0],
            rate_limit_user_seconds=user[1],
            rate_limit_token=token[0],
            rate_limit_token_seconds=token[1],
            rate_limit_register=register[0],
            rate_limit_register_seconds=register[1],
            rate_limit_join=join[0],
            rate_limit_join_seconds=join[1],
            rate_limit_password_checks=password_checks[0],
            rate_limit_password_checks_seconds=password_checks[1],
            redis_key_prefix=_key_prefix(read.text("REDIS_KEY_PREFIX") or "eventapi"),
            cors_origins=read.items("CORS_ORIGINS"),
            trusted_proxies=_networks(read.items("TRUSTED_PROXIES")),
            password_min_length=read.number("PASSWORD_MIN_LENGTH", 12, low=8, high=128),
            password_max_length=read.number("PASSWORD_MAX_LENGTH", 128, low=12, high=1024),
            bcrypt_rounds=read.number("BCRYPT_ROUNDS", 12, low=4, high=16),
            access_token_minutes=read.number("ACCESS_TOKEN_MINUTES", 15, low=1, high=60),
            metrics=read.flag("METRICS", default=environment != "production"),
            metrics_token=read.text("METRICS_TOKEN") or None,
            public_url=read.text("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            mail_from=read.text("MAIL_FROM", "eventapi <noreply@eventapi.invalid>"),
            geocoder=geocoding[0],
            geocoder_key=geocoding[1],
            geocoder_url=geocoding[2],
            inprocess_worker=_inprocess_worker(read.text("INPROCESS_WORKER", "auto")),
            log_format=_log_format(read.text("LOG_FORMAT", "auto")),
            outbox_retention_days=read.number("OUTBOX_RETENTION", 30, low=1, high=3650),
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str = "") -> str:
        return self._env.get(f"EVENTAPI_{name}", default).strip()

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.text(name).split(",") if part.strip())

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.text(name, "on" if default else "off").lower()
        if value in {"on", "true", "1", "yes"}:
            return True
        if value in {"off", "false", "0", "no"}:
            return False
        raise ConfigurationError(f"EVENTAPI_{name} must be on or off")

    def number(self, name: str, default: int, *, low: int, high: int) -> int:
        try:
            value = int(self.text(name, str(default)))
        except ValueError:
            raise ConfigurationError(f"EVENTAPI_{name} must be a whole number") from None
        if not low <= value <= high:
            raise ConfigurationError(f"EVENTAPI_{name} must be between {low} and {high}")
        return value

    def rate(self, name: str, requests: int, seconds: int) -> tuple[int, int]:
        """`REQUESTS/SECONDS` (e.g. `120/60`), or `REQUESTS` alone for the default window."""
        raw = self.text(name) or f"{requests}/{seconds}"
        match = _RATE.fullmatch(raw)
        if match is None:
            raise ConfigurationError(
                f"EVENTAPI_{name} must be REQUESTS/SECONDS, e.g. {requests}/{seconds}"
            )
        limit = int(match["requests"])
        window = int(match["seconds"]) if match["seconds"] else seconds
        if not 1 <= limit <= MAX_RATE_REQUESTS or not 1 <= window <= MAX_RATE_SECONDS:
            raise ConfigurationError(
                f"EVENTAPI_{name}: requests must be 1 to {MAX_RATE_REQUESTS} and seconds "
                f"1 to {MAX_RATE_SECONDS} (a day)"
            )
        return limit, window


def _inprocess_worker(raw: str) -> str:
    """EVENTAPI_INPROCESS_WORKER: `auto`, or a flag's value as `on` or `off`."""
    value = raw.lower()
    if value in {"on", "true", "1", "yes"}:
        return "on"
    if value in {"off", "false", "0", "no"}:
        return "off"
    if value == "auto":
        return value
    raise ConfigurationError("EVENTAPI_INPROCESS_WORKER must be auto, on or off")


LOG_FORMATS = ("auto", "json", "text")


def _log_format(raw: str) -> str:
    value = raw.lower()
    if value not in LOG_FORMATS:
        raise ConfigurationError("EVENTAPI_LOG_FORMAT must be json or text (or auto)")
    return value


GEOCODERS = ("off", "nominatim", "google")


def _geocoding(read: _Reader) -> tuple[str, str | None, str | None]:
    """EVENTAPI_GEOCODER, _KEY and _URL: the provider, its key and its base URL."""
    geocoder = read.text("GEOCODER", "off").lower()
    if geocoder not in GEOCODERS:
        raise ConfigurationError("EVENTAPI_GEOCODER must be off, nominatim or google")
    key = read.text("GEOCODER_KEY") or None
    if geocoder == "google" and key is None:
        raise ConfigurationError("EVENTAPI_GEOCODER=google needs EVENTAPI_GEOCODER_KEY")
    url = read.text("GEOCODER_URL").rstrip("/") or None
    if url is not None and not url.startswith(("https://", "http://")):
        raise ConfigurationError("EVENTAPI_GEOCODER_URL must be an http(s):// URL")
    return geocoder, key, url


def database_url(raw: str, data_dir: Path) -> str:
    """Accept the usual `postgresql://` and `sqlite:///` forms; pick async drivers.

    A URL that cannot be what was meant stops the start with the fix: a raw `@`
    in the password, a port that is not a number, `sqlite://name.db` (which
    names a host, not a file). The message never repeats the URL, which may hold
    a password."""
    if not raw:
        return f"sqlite+aiosqlite:///{(data_dir / 'eventapi.db').as_posix()}"
    scheme, separator, rest = raw.partition("://")
    driver = _DATABASE_DRIVERS.get(scheme.lower())
    if not separator or driver is None:
        raise ConfigurationError(
            "EVENTAPI_DATABASE_URL must be a postgresql:// or sqlite:/// URL, e.g. "
            "postgresql://user:password@127.0.0.1:5432/eventapi or sqlite:///data/eventapi.db"
        )
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    if driver.startswith("sqlite"):
        if authority:
            raise ConfigurationError(
                f"EVENTAPI_DATABASE_URL: sqlite://{authority} names a host, not a file; "
                f"write sqlite:///{authority} (relative to the working folder) or "
                "sqlite:////absolute/path.db"
            )
        return f"{driver}://{rest}"
    if authority.count("@") > 1:
        raise ConfigurationError(
            'EVENTAPI_DATABASE_URL has a raw "@" in its user name or password; '
            "percent-encode it as %40"
        )
    try:
        port = urlsplit(f"{driver}://{rest}").port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigurationError(
            "EVENTAPI_DATABASE_URL has a port that is not a number from 1 to 65535 "
            "(write host:5432)"
        )
    return f"{driver}://{rest}"


_DATABASE_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def _secret_key(raw: str, data_dir: Path, *, production: bool) -> bytes:
    if raw:
        return _checked_key(raw, "EVENTAPI_SECRET_KEY")
    if production:
        raise ConfigurationError(
            "EVENTAPI_SECRET_KEY is required in production (at least 32 bytes; "
            'generate one with: python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return _checked_key(path.read_text().strip(), str(path))


def _networks(items: tuple[str, ...]) -> tuple[str, ...]:
    """Trusted proxies as IP addresses or CIDR networks; anything else stops the start."""
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(
                "EVENTAPI_TRUSTED_PROXIES must be IP addresses or CIDR networks, comma-separated"
            ) from None
    return items


def _key_prefix(raw: str) -> str:
    if not _KEY_PREFIX.fullmatch(raw):
        raise ConfigurationError(
            "EVENTAPI_REDIS_KEY_PREFIX must be 1 to 64 letters, digits or . _ : -"
        )
    return raw


def _kid(secret: bytes) -> str:
    return hashlib.sha256(b"kid:" + secret).hexdigest()[:12]


def _checked_key(raw: str, where: str) -> bytes:
    key = raw.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"{where} must be at least {MIN_SECRET_BYTES} bytes long")
    return key
