"""Password reset and e-mail verification over HTTP, on SQLite and PostgreSQL.

The mail itself is the worker's business (tests/integration/test_account_mail.py
receives it over SMTP); here the token is read from the outbox row the worker
would mail, which is exactly what the mail would carry.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from adapters.sql.tables import account_tokens, outbox
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem

NEW_PASSWORD = "an entirely different passphrase"


def mailed(api: Api, user_id: str, kind: str) -> list[dict[str, Any]]:
    """The details of every outbox row of this kind for this user, oldest first."""
    engine = api.container.engine()

    async def read() -> list[dict[str, Any]]:
        statement = (
            select(outbox.c.details, outbox.c.recipient_id)
            .where(outbox.c.kind == kind)
            .order_by(outbox.c.id)
        )
        async with engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [dict(row.details) for row in rows if str(row.recipient_id) == user_id]

    return api.run(read)


def stored_tokens(api: Api) -> list[dict[str, Any]]:
    engine = api.container.engine()

    async def read() -> list[dict[str, Any]]:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(account_tokens))).mappings().all()
        return [dict(row) for row in rows]

    return api.run(read)


def expire_every_token(api: Api) -> None:
    engine = api.container.engine()

    async def expire() -> None:
        past = datetime.now(UTC) - timedelta(seconds=1)
        async with engine.begin() as connection:
            await connection.execute(update(account_tokens).values(expires_at=past))

    api.run(expire)


async def ask_reset(api: Api, email: str) -> Any:
    return await api.client.post(f"{API}/auth/password-reset", json={"email": email})


async def confirm(api: Api, token: str, password: str = NEW_PASSWORD) -> Any:
    return await api.client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": password}
    )


async def reset_token(api: Api, caller: Caller) -> str:
    response = await ask_reset(api, caller.email)
    assert response.status_code == 202, response.text
    token: str = mailed(api, caller.user_id, "password_reset")[-1]["token"]
    return token


# -- password reset -------------------------------------------------------------------------


async def test_a_reset_sets_the_password_and_ends_every_session(api: Api) -> None:
    alice = await api.user(name="alice")
    second = await api.sign_in("alice", alice.email)

    asked = await ask_reset(api, alice.email)

    assert asked.status_code == 202
    assert "reset link" in asked.json()["detail"]
    [details] = mailed(api, alice.user_id, "password_reset")
    token = details["token"]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    expires = datetime.fromisoformat(details["expires_at"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    # Stored only as its SHA-256 digest.
    [row] = [each for each in stored_tokens(api) if each["purpose"] == "password_reset"]
    assert row["digest"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)

    done = await confirm(api, token)

    assert done.status_code == 204, done.text
    assert done.content == b""
    for session in (alice, second):  # every session ended, access and refresh alike
        me = await api.client.get(f"{API}/users/me", headers=session.headers)
        assert_problem(me, 401)
        refreshed = await api.token(grant_type="refresh_token", refresh_token=session.refresh_token)
        assert refreshed.status_code == 400
    old = await api.token(grant_type="password", username=alice.email, password=PASSWORD)
    assert old.status_code == 400
    renewed = await api.sign_in("alice", alice.email, NEW_PASSWORD)
    me = await api.client.get(f"{API}/users/me", headers=renewed.headers)
    assert me.json()["email_verified"] is True  # the token came to that address
    # Single use.
    again = await confirm(api, token, "yet another long passphrase")
    assert_problem(again, 400, "/problems/invalid-token")


async def test_unknown_and_known_addresses_get_the_same_answer(api: Api) -> None:
    known = await api.user(name="known")
    before = api.snapshot()

    unknown = await ask_reset(api, api.email("nobody"))
    assert api.snapshot() == before  # nothing queued, nothing stored
    answered = await ask_reset(api, known.email)

    assert (unknown.status_code, unknown.content) == (answered.status_code, answered.content)
    same = {"content-type", "cache-control", "content-length"}
    assert {k: unknown.headers.get(k) for k in same} == {k: answered.headers.get(k) for k in same}
    assert len(mailed(api, known.user_id, "password_reset")) == 1


async def test_a_deactivated_account_gets_no_reset_mail(api: Api) -> None:
    bob = await api.user(name="bob")
    admin = await api.admin()
    off = await api.client.patch(
        f"{API}/users/{bob.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert off.status_code == 200
    before = api.snapshot()

    response = await ask_reset(api, bob.email)

    assert response.status_code == 202
    assert api.snapshot() == before


async def test_a_newer_token_voids_the_older_one(api: Api) -> None:
    carol = await api.user(name="carol")
    first = await reset_token(api, carol)
    second = await reset_token(api, carol)
    assert first != second

    assert_problem(await confirm(api, first), 400, "/problems/invalid-token")
    assert (await confirm(api, second)).status_code == 204


async def test_an_expired_or_unknown_token_is_refused_and_changes_nothing(api: Api) -> None:
    dave = await api.user(name="dave")
    token = await reset_token(api, dave)
    expire_every_token(api)
    before = api.snapshot()

    for bad in (token, "x" * 43, token[:-1]):
        assert_problem(await confirm(api, bad), 400, "/problems/invalid-token")

    assert api.snapshot() == before
    still = await api.token(grant_type="password", username=dave.email, password=PASSWORD)
    assert still.status_code == 200


async def test_the_password_policy_applies_and_a_refusal_keeps_the_token(api: Api) -> None:
    erin = await api.user(name="erin")
    token = await reset_token(api, erin)
    before = api.snapshot()

    short = await confirm(api, token, "short")
    common = await confirm(api, token, "password1234")

    assert_problem(short, 400)
    assert_problem(common, 400)
    assert api.snapshot() == before
    assert (await confirm(api, token)).status_code == 204


async def test_bad_reset_bodies_are_problems(api: Api) -> None:
    for body in ({}, {"email": 5}, {"email": "a@b.c", "extra": 1}, {"email": "x" * 300}):
        response = await api.client.post(f"{API}/auth/password-reset", json=body)
        assert_problem(response, 400)
    for body in ({"token": ""}, {"token": "t", "password": NEW_PASSWORD, "x": 1}, {"password": ""}):
        response = await api.client.post(f"{API}/auth/password-reset/confirm", json=body)
        assert_problem(response, 400)


# -- e-mail verification --------------------------------------------------------------------


async def me(api: Api, caller: Caller) -> dict[str, Any]:
    response = await api.client.get(f"{API}/users/me", headers=caller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(api: Api, token: str) -> Any:
    return await api.client.post(f"{API}/auth/verify-email", json={"token": token})


async def test_the_welcome_mail_carries_a_48_hour_verification_token(api: Api) -> None:
    frank = await api.user(name="frank")
    assert (await me(api, frank))["email_verified"] is False
    [welcome] = mailed(api, frank.user_id, "welcome")
    expires = datetime.fromisoformat(welcome["expires_at"])
    assert timedelta(hours=47) < expires - datetime.now(UTC) <= timedelta(hours=48)

    done = await verify(api, welcome["token"])

    assert done.status_code == 204, done.text
    assert (await me(api, frank))["email_verified"] is True
    assert_problem(await verify(api, welcome["token"]), 400, "/problems/invalid-token")


async def test_a_reset_token_does_not_verify_and_a_verification_token_does_not_reset(
    api: Api,
) -> None:
    gina = await api.user(name="gina")
    reset = await reset_token(api, gina)
    [welcome] = mailed(api, gina.user_id, "welcome")

    assert_problem(await verify(api, reset), 400, "/problems/invalid-token")
    assert_problem(await confirm(api, welcome["token"]), 400, "/problems/invalid-token")


async def test_resend_mails_a_new_token_that_voids_the_first(api: Api) -> None:
    hank = await api.user(name="hank")
    [welcome] = mailed(api, hank.user_id, "welcome")

    resent = await api.client.post(f"{API}/auth/verify-email/resend", headers=hank.headers)

    assert resent.status_code == 202, resent.text
    [fresh] = mailed(api, hank.user_id, "email_verification")
    assert_problem(await verify(api, welcome["token"]), 400, "/problems/invalid-token")
    assert (await verify(api, fresh["token"])).status_code == 204
    # Verified: the same 202, and no mail.
    before = api.snapshot()
    again = await api.client.post(f"{API}/auth/verify-email/resend", headers=hank.headers)
    assert again.status_code == 202
    assert api.snapshot() == before


async def test_resend_needs_a_signed_in_caller(api: Api) -> None:
    response = await api.client.post(f"{API}/auth/verify-email/resend")
    assert_problem(response, 401)


async def test_an_expired_verification_token_is_refused(api: Api) -> None:
    iris = await api.user(name="iris")
    [welcome] = mailed(api, iris.user_id, "welcome")
    expire_every_token(api)

    assert_problem(await verify(api, welcome["token"]), 400, "/problems/invalid-token")
    assert (await me(api, iris))["email_verified"] is False


async def test_admin_created_accounts_start_unverified_with_a_link(api: Api) -> None:
    admin = await api.admin()
    created = await api.client.post(
        f"{API}/users",
        json={
            "email": api.email("made"),
            "password": PASSWORD,
            "full_name": "Made Person",
            "role": "organizer",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["email_verified"] is False
    [welcome] = mailed(api, created.json()["id"], "welcome")
    assert welcome["token"]
