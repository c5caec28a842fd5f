"""Which mail, geocoding and health-probe adapters the settings ask for, built with
their constructor arguments (the container's helpers)."""

from __future__ import annotations

from email.utils import parseaddr
from importlib.metadata import PackageNotFoundError, version

from adapters.geocoding.google import PUBLIC_ENDPOINT, GoogleGeocoder
from adapters.geocoding.nominatim import PUBLIC_INSTANCE, NominatimGeocoder
from adapters.mail.composer import MailComposer
from adapters.mail.sink import MailSink
from adapters.mail.smtp import SmtpNotifier, SmtpRelay, parse_smtp_url
from adapters.mail.smtp_probe import SmtpProbe
from adapters.redis_health import RedisProbe
from adapters.redis_rate_limiter import RedisRateLimiter
from application.ports.geocoder import Geocoder
from application.ports.health import HealthProbe
from application.ports.notifications import Notifier
from entrypoints.settings import ConfigurationError, Settings


def notifier_for(settings: Settings, composer: MailComposer) -> Notifier:
    """SMTP when EVENTAPI_SMTP_URL is set, else the local sink in data_dir/mail."""
    if not settings.mail.smtp_url:
        return MailSink(settings.data_dir / "mail", composer)
    return SmtpNotifier(smtp_relay(settings.mail.smtp_url), composer)


def smtp_relay(url: str) -> SmtpRelay:
    """EVENTAPI_SMTP_URL parsed, or the configuration error that says what is wrong."""
    try:
        return parse_smtp_url(url)
    except ValueError as exc:
        raise ConfigurationError(f"EVENTAPI_SMTP_URL: {exc}") from None


def health_probes_for(
    settings: Settings, database: HealthProbe, limiter: object
) -> list[HealthProbe]:
    """What /health/ready asks: the database (essential), and Redis and the SMTP relay
    when they are configured (reported as degraded when down, never fatal)."""
    probes = [database]
    if isinstance(limiter, RedisRateLimiter):  # EVENTAPI_REDIS_URL is set
        probes.append(RedisProbe(limiter))
    if settings.mail.smtp_url:
        probes.append(SmtpProbe(smtp_relay(settings.mail.smtp_url)))
    return probes


def geocoder_for(settings: Settings) -> Geocoder | None:
    """None when EVENTAPI_GEOCODER is off (the default)."""
    chosen = settings.geocoder
    if chosen.provider == "nominatim":
        return NominatimGeocoder(
            user_agent=user_agent(settings), base_url=chosen.url or PUBLIC_INSTANCE
        )
    if chosen.provider == "google":
        if not chosen.key:
            raise ConfigurationError("EVENTAPI_GEOCODER=google needs EVENTAPI_GEOCODER_KEY")
        return GoogleGeocoder(
            api_key=chosen.key,
            user_agent=user_agent(settings),
            base_url=chosen.url or PUBLIC_ENDPOINT,
        )
    return None


def user_agent(settings: Settings) -> str:
    """Names the application, where it runs and whom to contact (Nominatim's policy)."""
    try:
        release = version("eventapi")
    except PackageNotFoundError:
        release = "dev"
    contact = parseaddr(settings.mail.sender)[1]
    return f"eventapi/{release} (+{settings.http.public_url}; {contact})"
