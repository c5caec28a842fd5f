"""Finding 2 (issue 9): `PATCH /users/me` with `current_password` was a password
oracle with no limit: 25 wrong guesses, 25 x 400, never a 429. Every password
check, from any route, now counts against the account's budget (10 per 15
minutes by default), the same one signing in spends.

The app runs with rate limits on (the contract's defaults); each test signs in
once, which spends one check of the ten.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem

NEW_PASSWORD = "a brand new passphrase for ada"


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_RATE_LIMITS": "on"}


async def change_password(api: Api, caller: Caller, current: str) -> httpx.Response:
    return await api.client.patch(
        f"{API}/users/me",
        headers=caller.headers,
        json={"password": NEW_PASSWORD, "current_password": current},
    )


async def test_guessing_the_current_password_is_throttled(api: Api) -> None:
    ada = await api.user(name="ada")  # signing in spent one check

    guesses = [
        (await change_password(api, ada, f"wrong guess number {n}")).status_code for n in range(25)
    ]

    assert guesses == [400] * 9 + [429] * 16
    refused = await change_password(api, ada, PASSWORD)  # even the right one, now
    assert_problem(refused, 429, "/problems/rate-limited")
    assert int(refused.headers["Retry-After"]) > 0


async def test_sign_in_and_password_change_share_one_budget(api: Api) -> None:
    ada = await api.user(name="ada")
    for n in range(9):
        wrong = await api.token(grant_type="password", username=ada.email, password=f"no {n}")
        assert wrong.status_code == 400, wrong.text

    assert_problem(await change_password(api, ada, PASSWORD), 429, "/problems/rate-limited")


async def test_password_change_guesses_spend_the_sign_in_budget(api: Api) -> None:
    ada = await api.user(name="ada")
    for n in range(9):
        assert (await change_password(api, ada, f"wrong guess number {n}")).status_code == 400

    signed_in = await api.token(grant_type="password", username=ada.email, password=PASSWORD)

    assert_problem(signed_in, 429, "/problems/rate-limited")
