"""`/api/v1/auth`: sign-up, the OAuth2 token endpoint (RFC 6749) and revocation (RFC 7009)."""

from __future__ import annotations

import httpx
import pytest

from domain.users import Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem

USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "role",
    "is_active",
    "email_verified",
    "created_at",
    "updated_at",
}


def assert_oauth_error(response: httpx.Response, error: str) -> None:
    """An RFC 6749 §5.2 error: status 400, JSON, `error` code, never cached."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def me(api: Api, access_token: str) -> httpx.Response:
    return await api.client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {access_token}"}
    )


# -- register -----------------------------------------------------------------------------


async def test_register_creates_an_attendee_with_a_location(api: Api) -> None:
    email = api.email("newcomer")

    response = await api.register(email, full_name="Grace Hopper")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == email
    assert body["full_name"] == "Grace Hopper"
    assert body["role"] == "attendee"
    assert body["is_active"] is True
    assert body["created_at"].endswith("Z")
    assert response.headers["location"] == f"{API}/users/{body['id']}"
    admin = await api.admin()
    fetched = await api.client.get(response.headers["location"], headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_register_never_returns_or_leaks_the_password(api: Api) -> None:
    response = await api.register(api.email("secretive"), password=PASSWORD)

    assert PASSWORD not in response.text
    assert "$2b$" not in response.text
    assert "hash" not in response.text


async def test_register_refuses_a_role_field_instead_of_dropping_it(api: Api) -> None:
    response = await api.client.post(
        f"{API}/auth/register",
        json={
            "email": api.email("sneaky"),
            "password": PASSWORD,
            "full_name": "Sneaky",
            "role": "admin",
        },
    )

    body = assert_problem(response, 400, "/problems/invalid-input")
    assert [error["field"] for error in body["errors"]] == ["role"]
    assert api.snapshot()["users"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD, "full_name": "No Email"}, "email"),
        ({"email": "not-an-email", "password": PASSWORD, "full_name": "X"}, "email"),
        ({"email": "short@example.org", "password": "short", "full_name": "X"}, "password"),
        ({"email": "common@example.org", "password": "password1234", "full_name": "X"}, "password"),
        ({"email": "long@example.org", "password": "p" * 129, "full_name": "X"}, "password"),
        ({"email": "name@example.org", "password": PASSWORD, "full_name": ""}, "full_name"),
        ({"email": "type@example.org", "password": 123456789012345, "full_name": "X"}, "password"),
    ],
)
async def test_register_rejects_invalid_input_naming_the_field(
    api: Api, payload: dict[str, object], field: str
) -> None:
    response = await api.client.post(f"{API}/auth/register", json=payload)

    body = assert_problem(response, 400)
    assert field in [error["field"] for error in body["errors"]], body
    assert api.snapshot()["users"] == []


async def test_register_refuses_a_duplicate_email_whatever_its_case(api: Api) -> None:
    email = api.email("twin")
    assert (await api.register(email)).status_code == 201

    response = await api.register(email.upper())

    assert_problem(response, 409, "/problems/email-taken")
    assert len(api.snapshot()["users"]) == 1


# -- token: password grant ----------------------------------------------------------------


async def test_password_grant_issues_a_bearer_token_pair(api: Api) -> None:
    email = api.email("signer")
    await api.register(email)

    response = await api.token(grant_type="password", username=email, password=PASSWORD)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"] != body["refresh_token"]
    assert response.headers["cache-control"] == "no-store"
    assert (await me(api, body["access_token"])).json()["email"] == email


async def test_password_grant_takes_the_email_in_any_case(api: Api) -> None:
    email = api.email("casey")
    await api.register(email)

    response = await api.token(grant_type="password", username=email.upper(), password=PASSWORD)

    assert response.status_code == 200, response.text


async def test_wrong_password_and_unknown_email_get_the_same_answer(api: Api) -> None:
    email = api.email("known")
    await api.register(email)

    wrong = await api.token(grant_type="password", username=email, password=PASSWORD + "!")
    unknown = await api.token(
        grant_type="password", username=api.email("nobody"), password=PASSWORD
    )

    assert_oauth_error(wrong, "invalid_grant")
    assert_oauth_error(unknown, "invalid_grant")
    assert wrong.json() == unknown.json()


async def test_a_password_longer_than_72_bytes_counts_in_full(api: Api) -> None:
    email = api.email("verbose")
    long_password = "é" * 40 + "tail that bcrypt alone would never see"  # 118 bytes
    assert (await api.register(email, password=long_password)).status_code == 201

    full = await api.token(grant_type="password", username=email, password=long_password)
    prefix = long_password.encode()[:72].decode()
    truncated = await api.token(grant_type="password", username=email, password=prefix)

    assert full.status_code == 200, full.text
    assert_oauth_error(truncated, "invalid_grant")


async def test_a_deactivated_account_cannot_sign_in(api: Api) -> None:
    user = await api.user()
    admin = await api.admin()
    deactivated = await api.client.patch(
        f"{API}/users/{user.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200

    response = await api.token(grant_type="password", username=user.email, password=PASSWORD)

    assert_oauth_error(response, "invalid_grant")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "a@example.org"}, "invalid_request"),
        ({"grant_type": "password", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"username": "a@example.org", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "abc"}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "a" * 5000, "password": "x"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "not-a-real-token"}, "invalid_grant"),
    ],
)
async def test_bad_token_requests_get_rfc_6749_errors(
    api: Api, form: dict[str, str], error: str
) -> None:
    assert_oauth_error(await api.token(**form), error)


async def test_token_errors_are_not_problem_documents(api: Api) -> None:
    response = await api.token(grant_type="password", username="x@example.org", password="y")

    assert set(response.json()) <= {"error", "error_description", "error_uri"}


# -- token: refresh grant -------------------------------------------------------------


async def test_refresh_rotates_the_refresh_token(api: Api) -> None:
    caller = await api.user()

    response = await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)

    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["token_type"] == "bearer"
    assert rotated["refresh_token"] != caller.refresh_token
    assert (await me(api, rotated["access_token"])).status_code == 200
    again = await api.token(grant_type="refresh_token", refresh_token=rotated["refresh_token"])
    assert again.status_code == 200, again.text


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(api: Api) -> None:
    caller = await api.user()
    rotated = (
        await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)
    ).json()

    reuse = await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)

    assert_oauth_error(reuse, "invalid_grant")
    newest = await api.token(grant_type="refresh_token", refresh_token=rotated["refresh_token"])
    assert_oauth_error(newest, "invalid_grant")
    assert (await me(api, rotated["access_token"])).status_code == 401
    assert (await me(api, caller.access_token)).status_code == 401


async def test_a_family_revocation_leaves_other_sessions_alone(api: Api) -> None:
    caller = await api.user()
    other_session = await api.sign_in("second device", caller.email)
    await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)

    await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)  # reuse

    assert (await me(api, other_session.access_token)).status_code == 200


async def test_a_refresh_token_is_not_an_access_token(api: Api) -> None:
    caller = await api.user()

    response = await me(api, caller.refresh_token)

    assert_problem(response, 401)


async def test_an_access_token_is_not_a_refresh_token(api: Api) -> None:
    caller = await api.user()

    response = await api.token(grant_type="refresh_token", refresh_token=caller.access_token)

    assert_oauth_error(response, "invalid_grant")


async def test_a_deactivated_account_cannot_refresh(api: Api) -> None:
    caller = await api.user()
    admin = await api.admin()
    await api.client.patch(
        f"{API}/users/{caller.user_id}", json={"is_active": False}, headers=admin.headers
    )

    response = await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)

    assert_oauth_error(response, "invalid_grant")


# -- bearer tokens --------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not.a.jwt",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer",
        "Token abc",
        "Bearer " + "a" * 5000,
    ],
)
async def test_a_bad_authorization_header_is_a_401_with_www_authenticate(
    api: Api, authorization: str
) -> None:
    response = await api.client.get(f"{API}/events", headers={"Authorization": authorization})

    assert_problem(response, 401, "/problems/unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_no_token_on_a_signed_in_route_is_a_401_with_www_authenticate(api: Api) -> None:
    response = await api.client.get(f"{API}/users/me")

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_signed_with_another_key_is_refused(api: Api) -> None:
    caller = await api.user()
    header, payload, signature = caller.access_token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"

    assert_problem(await me(api, forged), 401)


async def test_a_demotion_applies_to_the_very_next_request(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    admin = await api.admin()
    demoted = await api.client.patch(
        f"{API}/users/{organizer.user_id}", json={"role": "attendee"}, headers=admin.headers
    )
    assert demoted.status_code == 200

    response = await api.client.post(
        f"{API}/events",
        json={
            "title": "t",
            "starts_at": "2031-01-01T10:00:00Z",
            "ends_at": "2031-01-01T11:00:00Z",
            "capacity": 5,
        },
        headers=organizer.headers,
    )

    assert_problem(response, 403)
    assert api.snapshot()["events"] == []


# -- revoke (logout) ------------------------------------------------------------------


async def revoke(api: Api, caller: Caller, token: str) -> httpx.Response:
    return await api.client.post(
        f"{API}/auth/revoke", data={"token": token}, headers=caller.headers
    )


async def test_revoking_the_access_token_logs_out(api: Api) -> None:
    caller = await api.user()

    response = await revoke(api, caller, caller.access_token)

    assert response.status_code == 200
    after = await me(api, caller.access_token)
    assert_problem(after, 401)
    assert after.headers["www-authenticate"].startswith("Bearer")
    refresh = await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)
    assert_oauth_error(refresh, "invalid_grant")


async def test_revoking_the_refresh_token_ends_its_session(api: Api) -> None:
    caller = await api.user()

    response = await revoke(api, caller, caller.refresh_token)

    assert response.status_code == 200
    refresh = await api.token(grant_type="refresh_token", refresh_token=caller.refresh_token)
    assert_oauth_error(refresh, "invalid_grant")
    assert (await me(api, caller.access_token)).status_code == 401


async def test_revoking_ends_only_that_session(api: Api) -> None:
    caller = await api.user()
    laptop = await api.sign_in("laptop", caller.email)

    await revoke(api, caller, caller.access_token)

    assert (await me(api, laptop.access_token)).status_code == 200


async def test_revoking_someone_elses_token_is_accepted_and_changes_nothing(api: Api) -> None:
    mallory = await api.user(name="mallory")
    victim = await api.user(name="victim")
    before = api.snapshot()

    response = await revoke(api, mallory, victim.refresh_token)

    assert response.status_code == 200
    assert api.snapshot() == before
    assert (await me(api, victim.access_token)).status_code == 200


async def test_revoking_an_unknown_token_is_still_a_200(api: Api) -> None:
    caller = await api.user()

    response = await revoke(api, caller, "never-issued")

    assert response.status_code == 200
    assert (await me(api, caller.access_token)).status_code == 200


async def test_revoke_needs_a_signed_in_caller(api: Api) -> None:
    victim = await api.user()
    before = api.snapshot()

    response = await api.client.post(f"{API}/auth/revoke", data={"token": victim.refresh_token})

    assert_problem(response, 401)
    assert api.snapshot() == before
