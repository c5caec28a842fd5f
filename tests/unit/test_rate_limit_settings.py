"""EVENTAPI_RATE_LIMIT_* (`REQUESTS/SECONDS`) and EVENTAPI_REDIS_KEY_PREFIX, read and checked."""

from __future__ import annotations

import pytest

from application.ports.rate_limiter import Rate
from entrypoints.settings import ConfigurationError, Settings

KEY = {"EVENTAPI_SECRET_KEY": "k" * 40}
NAMES = ("ANONYMOUS", "USER", "TOKEN", "REGISTER", "JOIN", "PASSWORD_CHECKS", "EXPORT")
JUNK = (
    *("", "abc", "0/60", "10/0", "10/", "/60", "-1/60", "1.5/60", "10/60/2", "10 per minute"),
    *("10/86401", "1000001/60", "99999999/60", "\uff11\uff10/60"),  # the last: full-width digits
)


def settings(**env: str) -> Settings:
    return Settings.from_environment({**KEY, **{f"EVENTAPI_{k}": v for k, v in env.items()}})


def test_the_defaults_are_the_contracts() -> None:
    limits = settings().rate_limits

    assert (limits.anonymous, limits.user, limits.token, limits.register, limits.join) == (
        Rate("anonymous", 120, 60),
        Rate("user", 600, 60),
        Rate("token", 20, 60),
        Rate("register", 10, 3600),
        Rate("join", 30, 60),
    )
    assert limits.password_check_rate == Rate("password-checks", 10, 900)
    assert limits.export == Rate("export", 10, 3600)
    assert limits.redis_key_prefix == "eventapi"
    assert limits.key_prefix == "eventapi:rl"


def test_each_policy_takes_requests_and_seconds() -> None:
    chosen = settings(
        RATE_LIMIT_ANONYMOUS="5/10",
        RATE_LIMIT_USER="1000/60",
        RATE_LIMIT_TOKEN=" 3 / 30 ",
        RATE_LIMIT_REGISTER="2/86400",
        RATE_LIMIT_JOIN="7",  # requests alone: the default window
        RATE_LIMIT_PASSWORD_CHECKS="4/600",
        RATE_LIMIT_EXPORT="2/7200",
    ).rate_limits

    assert (chosen.anonymous, chosen.user, chosen.token, chosen.register, chosen.join) == (
        Rate("anonymous", 5, 10),
        Rate("user", 1000, 60),
        Rate("token", 3, 30),
        Rate("register", 2, 86400),
        Rate("join", 7, 60),
    )
    assert chosen.password_check_rate == Rate("password-checks", 4, 600)
    assert chosen.export == Rate("export", 2, 7200)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("junk", JUNK)
def test_junk_stops_the_start_naming_the_variable(name: str, junk: str) -> None:
    if junk == "":
        assert settings(**{f"RATE_LIMIT_{name}": junk})  # empty is "not set": the default
        return
    with pytest.raises(ConfigurationError, match=f"EVENTAPI_RATE_LIMIT_{name}"):
        settings(**{f"RATE_LIMIT_{name}": junk})


def test_rate_limits_off_turns_off_the_password_check_limit_too() -> None:
    assert settings(RATE_LIMITS="off").rate_limits.password_check_rate is None


@pytest.mark.parametrize("prefix", ["eventapi-prod", "tenant:7", "a", "x" * 64, "v1.2_b"])
def test_a_redis_key_prefix(prefix: str) -> None:
    chosen = settings(REDIS_KEY_PREFIX=prefix).rate_limits

    assert chosen.redis_key_prefix == prefix
    assert chosen.key_prefix == f"{prefix}:rl"


@pytest.mark.parametrize("prefix", ["two words", "star*", "q?", "[a]", "x" * 65, "é", "a\nb"])
def test_a_redis_key_prefix_that_would_confuse_key_patterns_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="EVENTAPI_REDIS_KEY_PREFIX"):
        settings(REDIS_KEY_PREFIX=prefix)


def test_the_redis_timeout_is_half_a_second_unless_set() -> None:
    assert settings().rate_limits.redis_timeout == 0.5
    assert settings(REDIS_TIMEOUT_MS="2500").rate_limits.redis_timeout == 2.5


@pytest.mark.parametrize("value", ["", "abc", "0", "9", "10001", "1.5", "-5"])
def test_a_redis_timeout_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="EVENTAPI_REDIS_TIMEOUT_MS"):
        settings(REDIS_TIMEOUT_MS=value)
