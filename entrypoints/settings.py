"""Configuration from `EVENTAPI_*` environment variables (see docs/configuration.md).

With nothing set, eventapi runs embedded: SQLite in ./data, an in-process rate
limiter, mail to a local sink, and a secret key generated once into ./data.

`Settings` composes one small frozen group per concern. Each group states its
defaults once, as its fields' defaults, and reads its own variables with
`from_environment` (which falls back to those same defaults).
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
from application.reminders import DEFAULT_REMINDER_BEFORE
from domain.values import LONGEST_PASSWORD_POLICY, SHORTEST_PASSWORD_POLICY

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
class DatabaseSettings:
    #: Empty: the embedded SQLite file in the data folder (`from_environment` fills it in).
    url: str = ""
    #: Connections each process opens to PostgreSQL as it needs them and keeps open
    #: (no overflow: see entrypoints/container.py), and the seconds a request waits
    #: for one before it is refused with 503.
    pool_size: int = 20
    pool_timeout: int = 10

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @classmethod
    def from_environment(cls, read: _Reader, data_dir: Path) -> DatabaseSettings:
        default = cls()
        return cls(
            url=database_url(read.text("DATABASE_URL", default.url), data_dir),
            pool_size=read.number("DATABASE_POOL_SIZE", default.pool_size, low=1, high=1000),
            pool_timeout=read.number(
                "DATABASE_POOL_TIMEOUT", default.pool_timeout, low=1, high=600
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSettings:
    """Each policy's `Rate`, from EVENTAPI_RATE_LIMIT_* as `REQUESTS/SECONDS`; the API
    contract's defaults: anonymous callers per address and signed-in callers per user,
    per minute; POST /auth/token per address per minute; POST /auth/register per
    address per hour; joining events per user per minute; password checks per account
    per 15 minutes; personal data exports per user per hour."""

    enabled: bool = True
    anonymous: Rate = Rate("anonymous", 120, 60)
    user: Rate = Rate("user", 600, 60)
    token: Rate = Rate("token", 20, 60)
    register: Rate = Rate("register", 10, 60 * 60)
    join: Rate = Rate("join", 30, 60)
    password_checks: Rate = Rate("password-checks", 10, 15 * 60)
    #: GET /users/me/export reads a person's whole history: far fewer than other reads.
    export: Rate = Rate("export", 10, 60 * 60)
    #: POST /auth/password-reset per client address, and per account (the address
    #: asked for, whether or not an account has it); resending the verification
    #: mail per signed-in user.
    password_reset: Rate = Rate("password-reset", 5, 60 * 60)
    password_reset_account: Rate = Rate("password-reset-account", 3, 60 * 60)
    verify_email: Rate = Rate("verify-email", 3, 60 * 60)
    #: Where the counts are shared by every process; None counts in this process.
    redis_url: str | None = None
    #: Every Redis key this service writes starts with this (one Redis, many deployments).
    redis_key_prefix: str = "eventapi"
    #: How long a Redis call may take before Redis counts as down (and the per-process
    #: fallback answers): Redis answers in well under a millisecond.
    redis_timeout_ms: int = 500

    @property
    def redis_timeout(self) -> float:
        return self.redis_timeout_ms / 1000

    @property
    def backend(self) -> str:
        """`redis` (shared by every process) when Redis is configured, else `memory`."""
        return "redis" if self.redis_url else "memory"

    @property
    def key_prefix(self) -> str:
        return f"{self.redis_key_prefix}:rl"

    @property
    def password_check_rate(self) -> Rate | None:
        """Password checks per account per 15 minutes; None when rate limits are off."""
        return self.password_checks if self.enabled else None

    @property
    def password_reset_account_rate(self) -> Rate | None:
        """Reset requests per account per hour; None when rate limits are off."""
        return self.password_reset_account if self.enabled else None

    @classmethod
    def from_environment(cls, read: _Reader) -> RateLimitSettings:
        default = cls()
        return cls(
            anonymous=read.rate("RATE_LIMIT_ANONYMOUS", default.anonymous),
            user=read.rate("RATE_LIMIT_USER", default.user),
            token=read.rate("RATE_LIMIT_TOKEN", default.token),
            register=read.rate("RATE_LIMIT_REGISTER", default.register),
            join=read.rate("RATE_LIMIT_JOIN", default.join),
            password_checks=read.rate("RATE_LIMIT_PASSWORD_CHECKS", default.password_checks),
            export=read.rate("RATE_LIMIT_EXPORT", default.export),
            password_reset=read.rate("RATE_LIMIT_PASSWORD_RESET", default.password_reset),
            password_reset_account=read.rate(
                "RATE_LIMIT_PASSWORD_RESET_ACCOUNT", default.password_reset_account
            ),
            verify_email=read.rate("RATE_LIMIT_VERIFY_EMAIL", default.verify_email),
            redis_url=read.text("REDIS_URL") or default.redis_url,
            enabled=read.flag("RATE_LIMITS", default=default.enabled),
            redis_key_prefix=_key_prefix(read.text("REDIS_KEY_PREFIX") or default.redis_key_prefix),
            redis_timeout_ms=read.number(
                "REDIS_TIMEOUT_MS", default.redis_timeout_ms, low=10, high=10_000
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MailSettings:
    #: The SMTP relay; None writes mail to files in the data folder instead.
    smtp_url: str | None = None
    #: The From of every mail (EVENTAPI_MAIL_FROM).
    sender: str = "eventapi <noreply@eventapi.invalid>"

    @classmethod
    def from_environment(cls, read: _Reader) -> MailSettings:
        default = cls()
        return cls(
            smtp_url=read.text("SMTP_URL") or default.smtp_url,
            sender=read.text("MAIL_FROM", default.sender),
        )


GEOCODERS = ("off", "nominatim", "google")


@dataclass(frozen=True, slots=True, kw_only=True)
class GeocoderSettings:
    #: off, nominatim or google (see docs/notifications.md).
    provider: str = "off"
    key: str | None = None
    #: The provider's base URL; None for its public service.
    url: str | None = None

    @classmethod
    def from_environment(cls, read: _Reader) -> GeocoderSettings:
        """EVENTAPI_GEOCODER, _KEY and _URL: the provider, its key and its base URL."""
        default = cls()
        provider = read.text("GEOCODER", default.provider).lower()
        if provider not in GEOCODERS:
            raise ConfigurationError("EVENTAPI_GEOCODER must be off, nominatim or google")
        key = read.text("GEOCODER_KEY") or default.key
        if provider == "google" and key is None:
            raise ConfigurationError("EVENTAPI_GEOCODER=google needs EVENTAPI_GEOCODER_KEY")
        url = read.text("GEOCODER_URL").rstrip("/") or default.url
        if url is not None and not url.startswith(("https://", "http://")):
            raise ConfigurationError("EVENTAPI_GEOCODER_URL must be an http(s):// URL")
        return cls(provider=provider, key=key, url=url)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecuritySettings:
    """The secret keys and what derives from them, and the password and token rules."""

    secret_key: bytes = b""
    previous_secret_keys: tuple[bytes, ...] = ()
    password_min_length: int = 12
    password_max_length: int = 128
    bcrypt_rounds: int = 12
    access_token_minutes: int = 15
    #: EVENTAPI_REQUIRE_VERIFIED_EMAIL: joining and creating events need a verified
    #: address, and only verification and reset mails go to unverified ones.
    require_verified_email: bool = False

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
    def token_kid(self) -> str:
        return _kid(self.secret_key)

    @property
    def password_pepper(self) -> bytes:
        return self.derived_key("password-pepper")

    @property
    def previous_password_peppers(self) -> tuple[bytes, ...]:
        """Hashes made under a previous secret key keep verifying (and get rehashed)."""
        return tuple(self.derived_key("password-pepper", old) for old in self.previous_secret_keys)

    @property
    def access_token_ttl(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)

    @classmethod
    def from_environment(
        cls, read: _Reader, data_dir: Path, *, production: bool
    ) -> SecuritySettings:
        default = cls()
        return cls(
            secret_key=_secret_key(read.text("SECRET_KEY"), data_dir, production=production),
            previous_secret_keys=tuple(
                _checked_key(key, "EVENTAPI_PREVIOUS_SECRET_KEYS")
                for key in read.items("PREVIOUS_SECRET_KEYS")
            ),
            password_min_length=read.number(
                "PASSWORD_MIN_LENGTH",
                default.password_min_length,
                low=SHORTEST_PASSWORD_POLICY,
                high=128,
            ),
            password_max_length=read.number(
                "PASSWORD_MAX_LENGTH",
                default.password_max_length,
                low=12,
                high=LONGEST_PASSWORD_POLICY,
            ),
            bcrypt_rounds=read.number("BCRYPT_ROUNDS", default.bcrypt_rounds, low=4, high=16),
            access_token_minutes=read.number(
                "ACCESS_TOKEN_MINUTES", default.access_token_minutes, low=1, high=60
            ),
            require_verified_email=read.flag(
                "REQUIRE_VERIFIED_EMAIL", default=default.require_verified_email
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """How the web app presents itself: its public address, CORS, proxies, metrics."""

    public_url: str = "http://127.0.0.1:8000"
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    #: Whether GET /metrics answers; off by default in production (`from_environment`).
    metrics: bool = True
    #: When set, GET /metrics asks for `Authorization: Bearer <this>`.
    metrics_token: str | None = None

    @classmethod
    def from_environment(cls, read: _Reader, *, production: bool) -> HttpSettings:
        default = cls()
        return cls(
            cors_origins=read.items("CORS_ORIGINS"),
            trusted_proxies=_networks(read.items("TRUSTED_PROXIES")),
            metrics=read.flag("METRICS", default=default.metrics and not production),
            metrics_token=read.text("METRICS_TOKEN") or default.metrics_token,
            public_url=read.text("PUBLIC_URL", default.public_url).rstrip("/"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSettings:
    #: auto, on or off: whether the web app delivers the outbox itself (see
    #: `Settings.runs_inprocess_worker`); `eventapi worker` does it as a process of its own.
    inprocess: str = "auto"
    #: Days a sent (or skipped) outbox row is kept before the worker purges it.
    outbox_retention_days: int = 30
    #: EVENTAPI_REMINDER_BEFORE: how long before an event's start its confirmed
    #: attendees get their reminder mail.
    reminder_before: timedelta = DEFAULT_REMINDER_BEFORE

    @property
    def outbox_retention(self) -> timedelta:
        return timedelta(days=self.outbox_retention_days)

    @classmethod
    def from_environment(cls, read: _Reader) -> WorkerSettings:
        default = cls()
        return cls(
            inprocess=_inprocess_worker(read.text("INPROCESS_WORKER", default.inprocess)),
            outbox_retention_days=read.number(
                "OUTBOX_RETENTION", default.outbox_retention_days, low=1, high=3650
            ),
            reminder_before=reminder_before(read.text("REMINDER_BEFORE", "24h")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadCacheSettings:
    """What anonymous readers read most, kept ready (docs/performance.md, "Read cache")."""

    #: Seconds an entry lives at most, under invalidation by every change; 0 turns it off.
    ttl_seconds: int = 30

    @classmethod
    def from_environment(cls, read: _Reader) -> ReadCacheSettings:
        default = cls()
        return cls(ttl_seconds=read.number("READ_CACHE_TTL", default.ttl_seconds, low=0, high=3600))


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    """Where webhooks may be sent (docs/notifications.md, "Webhooks")."""

    #: EVENTAPI_WEBHOOK_ALLOW_HTTP: `http://` URLs too, not only `https://`.
    allow_http: bool = False
    #: EVENTAPI_WEBHOOK_ALLOW_PRIVATE: private, loopback, link-local and multicast
    #: destinations too (tests, private networks).
    allow_private: bool = False

    @classmethod
    def from_environment(cls, read: _Reader) -> WebhookSettings:
        default = cls()
        return cls(
            allow_http=read.flag("WEBHOOK_ALLOW_HTTP", default=default.allow_http),
            allow_private=read.flag("WEBHOOK_ALLOW_PRIVATE", default=default.allow_private),
        )


ENVIRONMENTS = ("development", "production", "test")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    environment: str = "development"
    data_dir: Path = Path("data")
    #: auto, json or text: how log records are written (auto: text on a terminal, else json).
    log_format: str = "auto"
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    geocoder: GeocoderSettings = field(default_factory=GeocoderSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    read_cache: ReadCacheSettings = field(default_factory=ReadCacheSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def read_cache_backend(self) -> str:
        """`redis` (shared by every process) when Redis is configured, `memory` when
        not, `off` when EVENTAPI_READ_CACHE_TTL is 0."""
        if self.read_cache.ttl_seconds <= 0:
            return "off"
        return "redis" if self.rate_limits.redis_url else "memory"

    @property
    def runs_inprocess_worker(self) -> bool:
        """`on`, `off`, or `auto`: on for the embedded SQLite database, off otherwise
        (PostgreSQL deployments run `eventapi worker` processes instead)."""
        if self.worker.inprocess == "auto":
            return self.database.is_sqlite
        return self.worker.inprocess == "on"

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        read = _Reader(os.environ if env is None else env)
        default = cls()
        environment = read.text("ENV", default.environment).lower()
        if environment not in ENVIRONMENTS:
            raise ConfigurationError("EVENTAPI_ENV must be development, production or test")
        production = environment == "production"
        data_dir = Path(read.text("DATA_DIR", default.data_dir.as_posix()))
        return cls(
            environment=environment,
            data_dir=data_dir,
            geocoder=GeocoderSettings.from_environment(read),
            rate_limits=RateLimitSettings.from_environment(read),
            database=DatabaseSettings.from_environment(read, data_dir),
            mail=MailSettings.from_environment(read),
            security=SecuritySettings.from_environment(read, data_dir, production=production),
            http=HttpSettings.from_environment(read, production=production),
            worker=WorkerSettings.from_environment(read),
            webhooks=WebhookSettings.from_environment(read),
            read_cache=ReadCacheSettings.from_environment(read),
            log_format=_log_format(read.text("LOG_FORMAT", default.log_format)),
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

    def rate(self, name: str, default: Rate) -> Rate:
        """`REQUESTS/SECONDS` (e.g. `120/60`), or `REQUESTS` alone for the default window."""
        example = f"{default.limit}/{default.period_seconds}"
        match = _RATE.fullmatch(self.text(name) or example)
        if match is None:
            raise ConfigurationError(f"EVENTAPI_{name} must be REQUESTS/SECONDS, e.g. {example}")
        limit = int(match["requests"])
        window = int(match["seconds"]) if match["seconds"] else default.period_seconds
        if not 1 <= limit <= MAX_RATE_REQUESTS or not 1 <= window <= MAX_RATE_SECONDS:
            raise ConfigurationError(
                f"EVENTAPI_{name}: requests must be 1 to {MAX_RATE_REQUESTS} and seconds "
                f"1 to {MAX_RATE_SECONDS} (a day)"
            )
        return Rate(default.name, limit, window)


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


_DURATION = re.compile(r"(?P<amount>[0-9]{1,9})(?P<unit>[smhd]?)")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: A reminder further ahead than this is a typo, not a plan.
MAX_REMINDER_BEFORE = timedelta(days=366)


def reminder_before(raw: str) -> timedelta:
    """EVENTAPI_REMINDER_BEFORE: whole seconds, or a number with s, m, h or d ("90m")."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None:
        raise ConfigurationError(
            "EVENTAPI_REMINDER_BEFORE must be whole seconds or a number with s, m, h or d "
            f"(e.g. 90m or 24h), not {raw!r}"
        )
    before = timedelta(seconds=int(match["amount"]) * _DURATION_UNITS[match["unit"]])
    if not timedelta(0) < before <= MAX_REMINDER_BEFORE:
        raise ConfigurationError("EVENTAPI_REMINDER_BEFORE must be more than 0 and at most 366d")
    return before


def _log_format(raw: str) -> str:
    value = raw.lower()
    if value not in LOG_FORMATS:
        raise ConfigurationError("EVENTAPI_LOG_FORMAT must be json or text (or auto)")
    return value


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
