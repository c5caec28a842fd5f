"""JWT and refresh-token attacks over HTTP, on SQLite and PostgreSQL.

Tokens are forged by hand (header, claims and signature bytes under the
test's control), most of them with the service's *real* signing key, taken
from the settings the app runs with: so a refusal proves the check of that one
property (algorithm, expiry, issuer, ...), not merely that the signature was
wrong. A forged token with every property right is accepted (the control), so
the forging itself is sound.

Access-token profile the attacks are measured against (adapters/jwt_tokens.py):
HS256 only, `typ: at+jwt`, `kid` naming one of the configured keys, `iss` the
public URL, `aud` "eventapi", `sub`, `sid`, `jti`, `iat`, `exp` required,
`nbf` honoured, 5 s leeway, and a session that must still be live.

Concurrent refreshes: 20 requests with one refresh token, truly at once
(`concurrently`). Exactly one gets new tokens. The other 19 present a token
that is spent by the time they hold the session's lock, which is reuse by the
contract's rule: the family is revoked, so the winner's new refresh token and
every access token of the session stop working too. A client must not refresh
one session in parallel; an attacker racing the owner with a stolen token
cannot keep the session either way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem
from tests.security.conftest import concurrently

ME = f"{API}/users/me"
TOKEN = f"{API}/auth/token"

#: One RSA key for the algorithm-confusion cases (generating one takes ~50 ms).
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs(key: bytes, digest: Callable[[], Any] = hashlib.sha256) -> Callable[[bytes], bytes]:
    return lambda signing_input: hmac.new(key, signing_input, digest).digest()


def rs256(signing_input: bytes) -> bytes:
    return RSA_KEY.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode('ascii')))}"


@dataclass(frozen=True)
class Target:
    """What a forger needs: a real session's claims and the service's real key."""

    claims: dict[str, Any]
    key: bytes
    kid: str
    issuer: str

    def header(self, **changes: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": "HS256", "typ": "at+jwt", "kid": self.kid}
        header.update(changes)
        return {name: value for name, value in header.items() if value is not None}

    def payload(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {**self.claims, "iat": now, "nbf": now, "exp": now + 600}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, sign: Callable[[bytes], bytes] | None = None, **changes: Any) -> str:
        """A token with the real key and valid claims, but for `changes` to the claims."""
        return forge(self.header(), self.payload(**changes), sign or hs(self.key))


def target_of(api: Api, caller: Caller) -> Target:
    settings = api.container.settings()
    security = settings.security
    claims = jwt.decode(caller.access_token, options={"verify_signature": False})
    return Target(
        claims=claims,
        key=security.token_keys[security.token_kid],
        kid=security.token_kid,
        issuer=settings.http.public_url,
    )


async def me(api: Api, token: str) -> httpx.Response:
    return await api.client.get(ME, headers={"Authorization": f"Bearer {token}"})


def assert_refused(response: httpx.Response) -> None:
    assert_problem(response, 401, "/problems/unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def _tamper_signature(token: str) -> str:
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw))}"


def _tamper_claims(token: str, t: Target) -> str:
    """The real signature over other claims (a role the user does not have)."""
    _, _, signature = token.split(".")
    head, body, _ = forge(t.header(), t.payload(role="admin"), hs(t.key)).split(".")
    return f"{head}.{body}.{signature}"


#: name -> a forged token (from the target); every one must be refused with a 401.
ATTACKS: dict[str, Callable[[Target, Caller], str]] = {
    # -- the algorithm --------------------------------------------------------------------
    "alg none": lambda t, c: forge(t.header(alg="none"), t.payload(), lambda _: b""),
    "alg None, signature kept": lambda t, c: forge(t.header(alg="None"), t.payload(), hs(t.key)),
    "alg NONE, no typ": lambda t, c: forge({"alg": "NONE"}, t.payload(), lambda _: b""),
    "HS256 keyed with the RS public key (HS/RS confusion)": lambda t, c: forge(
        t.header(), t.payload(), hs(RSA_PUBLIC_PEM)
    ),
    "RS256 with an attacker's key": lambda t, c: forge(t.header(alg="RS256"), t.payload(), rs256),
    "RS256 with the attacker's key embedded (jwk)": lambda t, c: forge(
        t.header(alg="RS256", jwk=json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY))),
        t.payload(),
        rs256,
    ),
    "RS256 pointing at a key URL (jku)": lambda t, c: forge(
        t.header(alg="RS256", jku="http://127.0.0.1:9/keys.json"), t.payload(), rs256
    ),
    "HS512 with the real key": lambda t, c: forge(
        t.header(alg="HS512"), t.payload(), hs(t.key, hashlib.sha512)
    ),
    "HS384 with the real key": lambda t, c: forge(
        t.header(alg="HS384"), t.payload(), hs(t.key, hashlib.sha384)
    ),
    # -- time -------------------------------------------------------------------------------
    "expired a minute ago": lambda t, c: t.token(
        iat=int(time.time()) - 1000, nbf=int(time.time()) - 1000, exp=int(time.time()) - 60
    ),
    "not valid for another hour (nbf)": lambda t, c: t.token(nbf=int(time.time()) + 3600),
    "issued an hour from now (iat)": lambda t, c: t.token(
        iat=int(time.time()) + 3600, nbf=int(time.time()) + 3600
    ),
    "no exp": lambda t, c: t.token(exp=None),
    "exp not a number": lambda t, c: t.token(exp="tomorrow"),
    "nbf not a number": lambda t, c: t.token(nbf="now"),
    # -- issuer, audience, subject --------------------------------------------------------
    "wrong iss": lambda t, c: t.token(iss="https://evil.example"),
    "no iss": lambda t, c: t.token(iss=None),
    "wrong aud": lambda t, c: t.token(aud="another-api"),
    "aud list without us": lambda t, c: t.token(aud=["another-api", "third-api"]),
    "no aud": lambda t, c: t.token(aud=None),
    "no sub": lambda t, c: t.token(sub=None),
    "sub of another user in this session": lambda t, c: t.token(
        sub="00000000-0000-7000-8000-000000000001"
    ),
    "sub not a uuid": lambda t, c: t.token(sub="' OR 1=1 --"),
    "no sid": lambda t, c: t.token(sid=None),
    "sid of no session": lambda t, c: t.token(sid="00000000-0000-7000-8000-000000000002"),
    # -- token type -------------------------------------------------------------------------
    "typ JWT, not at+jwt": lambda t, c: forge(t.header(typ="JWT"), t.payload(), hs(t.key)),
    "no typ": lambda t, c: forge(t.header(typ=None), t.payload(), hs(t.key)),
    "the refresh token as a bearer token": lambda t, c: c.refresh_token,
    # -- tampering --------------------------------------------------------------------------
    "one bit of the signature flipped": lambda t, c: _tamper_signature(c.access_token),
    "claims changed, signature kept": lambda t, c: _tamper_claims(c.access_token, t),
    "signature stripped": lambda t, c: c.access_token.rsplit(".", 1)[0] + ".",
    "two segments": lambda t, c: c.access_token.rsplit(".", 1)[0],
    "four segments": lambda t, c: c.access_token + ".e30",
    # -- kid injection ------------------------------------------------------------------------
    "kid path traversal": lambda t, c: forge(
        t.header(kid="../../../../../../dev/null"), t.payload(), hs(b"")
    ),
    "kid absolute path": lambda t, c: forge(t.header(kid="/dev/null"), t.payload(), hs(b"")),
    "kid SQL": lambda t, c: forge(
        t.header(kid="x' UNION SELECT 'attacker-key' --"), t.payload(), hs(b"attacker-key")
    ),
    "kid SQL tautology": lambda t, c: forge(
        t.header(kid="' OR '1'='1"), t.payload(), hs(b"attacker-key")
    ),
    "kid shell": lambda t, c: forge(t.header(kid="$(id)|;`id`"), t.payload(), hs(b"")),
    "kid unknown": lambda t, c: forge(t.header(kid="0123456789ab"), t.payload(), hs(t.key)),
    "kid missing": lambda t, c: forge(t.header(kid=None), t.payload(), hs(t.key)),
    "kid a number": lambda t, c: forge(t.header(kid=7), t.payload(), hs(t.key)),
    "kid a list": lambda t, c: forge(t.header(kid=[t.kid]), t.payload(), hs(t.key)),
    "kid with a NUL": lambda t, c: forge(t.header(kid=t.kid + "\x00"), t.payload(), hs(t.key)),
}


async def test_a_token_forged_with_the_real_key_and_right_claims_is_accepted(api: Api) -> None:
    """The control: the forging in this module makes tokens the service accepts."""
    caller = await api.user()
    t = target_of(api, caller)

    response = await me(api, t.token())

    assert response.status_code == 200, response.text
    assert response.json()["id"] == caller.user_id


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_forged_or_broken_token_is_refused(api: Api, attack: str) -> None:
    caller = await api.user()
    token = ATTACKS[attack](target_of(api, caller), caller)
    before = api.snapshot()

    refused = await me(api, token)
    on_a_public_route = await api.client.get(
        f"{API}/events", headers={"Authorization": f"Bearer {token}"}
    )

    assert_refused(refused)
    # Never quietly anonymous: a bad token is a 401 on public routes too.
    assert_refused(on_a_public_route)
    assert api.snapshot() == before
    assert (await me(api, caller.access_token)).status_code == 200  # the real one still works


async def test_the_role_comes_from_the_account_not_the_token(api: Api) -> None:
    """Even a validly signed token claiming `admin` gives an attendee nothing more."""
    caller = await api.user()
    token = target_of(api, caller).token(role="admin")

    listing = await api.client.get(f"{API}/users", headers={"Authorization": f"Bearer {token}"})

    assert_problem(listing, 403, "/problems/forbidden")


async def refresh(api: Api, token: str) -> httpx.Response:
    return await api.token(grant_type="refresh_token", refresh_token=token)


def assert_invalid_grant(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


async def test_reusing_a_spent_refresh_token_revokes_the_family(api: Api) -> None:
    caller = await api.user()
    other_session = await api.sign_in("again", caller.email)
    rotated = await refresh(api, caller.refresh_token)
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()

    reused = await refresh(api, caller.refresh_token)

    assert_invalid_grant(reused)
    assert_invalid_grant(await refresh(api, fresh["refresh_token"]))  # the rotated-in token
    assert_refused(await me(api, fresh["access_token"]))  # the session's access tokens
    assert_refused(await me(api, caller.access_token))
    # Another sign-in of the same account is another family: untouched.
    assert (await me(api, other_session.access_token)).status_code == 200
    assert (await refresh(api, other_session.refresh_token)).status_code == 200


async def test_twenty_concurrent_refreshes_of_one_token_one_wins_then_the_family_is_revoked(
    api: Api,
) -> None:
    caller = await api.user()
    form = {"grant_type": "refresh_token", "refresh_token": caller.refresh_token}

    def send(client: httpx.AsyncClient) -> Any:
        return client.post(TOKEN, data=form)

    responses = concurrently(api, [send] * 20)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 19, statuses
    for response in responses:
        if response.status_code == 400:
            assert_invalid_grant(response)
    winner = next(response for response in responses if response.status_code == 200).json()
    # The 19 losers presented a token that was spent by then: reuse, so the family
    # (the winner's new tokens included) is revoked, on both databases alike.
    assert_invalid_grant(await refresh(api, winner["refresh_token"]))
    assert_refused(await me(api, winner["access_token"]))
    assert_refused(await me(api, caller.access_token))
    # The account itself is fine: signing in again starts a new family.
    again = await api.sign_in("again", caller.email)
    assert (await me(api, again.access_token)).status_code == 200


async def test_a_revoked_session_refuses_access_and_refresh(api: Api) -> None:
    caller = await api.user(Role.ORGANIZER)

    revoked = await api.client.post(
        f"{API}/auth/revoke", data={"token": caller.refresh_token}, headers=caller.headers
    )

    assert revoked.status_code == 200
    assert_refused(await me(api, caller.access_token))
    assert_invalid_grant(await refresh(api, caller.refresh_token))
