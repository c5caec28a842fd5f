"""The JWT access-token service refuses every token it did not issue as an access token."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from adapters.jwt_tokens import JwtTokenService
from application.errors import NotAuthenticated
from domain.users import Role

KEY = b"k" * 32
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def service(**overrides: object) -> JwtTokenService:
    options: dict[str, object] = {
        "keys": {"k1": KEY},
        "signing_kid": "k1",
        "issuer": "eventapi",
        "audience": "eventapi-api",
    }
    options.update(overrides)
    return JwtTokenService(**options)  # type: ignore[arg-type]


def issue(tokens: JwtTokenService, now: datetime = NOW) -> str:
    return tokens.issue_access(user_id=uuid4(), session_id=uuid4(), role=Role.ORGANIZER, now=now)


def forged(claims: dict[str, object], header: dict[str, object], key: bytes = KEY) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=header)


def good_claims() -> dict[str, object]:
    return {
        "iss": "eventapi",
        "aud": "eventapi-api",
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "jti": "x",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    }


def test_an_issued_token_reads_back() -> None:
    tokens = service()
    user_id, session_id = uuid4(), uuid4()
    token = tokens.issue_access(user_id=user_id, session_id=session_id, role=Role.ADMIN, now=NOW)
    claims = tokens.read_access(token, NOW + timedelta(minutes=14))
    assert (claims.user_id, claims.session_id, claims.role) == (user_id, session_id, Role.ADMIN)
    assert claims.expires_at == NOW + timedelta(minutes=15)
    assert tokens.access_ttl_seconds == 900
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"], header["typ"]) == ("HS256", "k1", "at+jwt")


def test_expired_and_future_tokens_are_refused() -> None:
    tokens = service()
    with pytest.raises(NotAuthenticated):
        tokens.read_access(issue(tokens), NOW + timedelta(minutes=16))
    with pytest.raises(NotAuthenticated):
        tokens.read_access(issue(tokens, NOW + timedelta(hours=1)), NOW)


@pytest.mark.parametrize(
    ("change", "header"),
    [
        ({"aud": "someone-else"}, {"kid": "k1", "typ": "at+jwt"}),
        ({"iss": "evil"}, {"kid": "k1", "typ": "at+jwt"}),
        ({"sid": None}, {"kid": "k1", "typ": "at+jwt"}),
        ({}, {"kid": "k1"}),  # no typ: e.g. some other JWT signed with the key
        ({}, {"kid": "k1", "typ": "refresh+jwt"}),
        ({}, {"kid": "../../etc/passwd", "typ": "at+jwt"}),
        ({}, {"typ": "at+jwt"}),
        ({"nbf": int((NOW + timedelta(minutes=1)).timestamp())}, {"kid": "k1", "typ": "at+jwt"}),
        ({"nbf": "now"}, {"kid": "k1", "typ": "at+jwt"}),
    ],
)
def test_tokens_with_wrong_claims_or_headers_are_refused(
    change: dict[str, object], header: dict[str, object]
) -> None:
    claims = {k: v for k, v in {**good_claims(), **change}.items() if v is not None}
    with pytest.raises(NotAuthenticated):
        service().read_access(forged(claims, header), NOW)


def test_nbf_within_the_leeway_is_accepted() -> None:
    claims = {**good_claims(), "nbf": int((NOW + timedelta(seconds=4)).timestamp())}
    assert service().read_access(forged(claims, {"kid": "k1", "typ": "at+jwt"}), NOW)


def test_alg_none_and_foreign_keys_and_tampering_are_refused() -> None:
    tokens = service()
    unsigned = jwt.encode(
        good_claims(), "", algorithm="none", headers={"kid": "k1", "typ": "at+jwt"}
    )
    with pytest.raises(NotAuthenticated):
        tokens.read_access(unsigned, NOW)
    other_key = forged(good_claims(), {"kid": "k1", "typ": "at+jwt"}, key=b"x" * 32)
    with pytest.raises(NotAuthenticated):
        tokens.read_access(other_key, NOW)
    head, body, signature = issue(tokens).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["role"] = "admin"
    evil_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(NotAuthenticated):
        tokens.read_access(f"{head}.{evil_body}.{signature}", NOW)
    for garbage in ("", "not a token", "a.b.c"):
        with pytest.raises(NotAuthenticated):
            tokens.read_access(garbage, NOW)


def test_rotated_keys_still_verify_old_tokens() -> None:
    old = service()
    token = issue(old)
    rotated = service(keys={"k1": KEY, "k2": b"n" * 32}, signing_kid="k2")
    assert rotated.read_access(token, NOW).role is Role.ORGANIZER
    assert jwt.get_unverified_header(issue(rotated))["kid"] == "k2"


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        service(keys={"k1": b"short"})


def test_refresh_tokens_are_random_and_stored_as_digests() -> None:
    tokens = service()
    first, second = tokens.new_refresh_token(), tokens.new_refresh_token()
    assert first != second
    assert len(first) >= 43
    assert tokens.digest(first) == tokens.digest(first) != tokens.digest(second)
    assert first not in tokens.digest(first)
