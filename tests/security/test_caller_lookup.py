"""Finding 10 (issue 9): identifying the caller loaded every spent refresh-token
digest of the session, on every signed-in request, so a session refreshed often
made each of its requests slower (5.8 ms to 9.5 ms for /users/me after 3,000
refreshes, and growing). Identifying the caller is now one indexed read of the
session joined with its user; the spent digests are read on the refresh path only.

The statements the database is sent while answering GET /users/me are recorded
(SQLAlchemy's cursor events on the app's own engine), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.e2e.conftest import API, Api

REFRESHES = 30


async def test_identifying_the_caller_is_one_read_without_spent_tokens(api: Api) -> None:
    ada = await api.user(name="ada")
    refresh_token = ada.refresh_token
    for _ in range(REFRESHES):
        response = await api.token(grant_type="refresh_token", refresh_token=refresh_token)
        assert response.status_code == 200, response.text
        access_token, refresh_token = (
            response.json()["access_token"],
            response.json()["refresh_token"],
        )
    headers = {"Authorization": f"Bearer {access_token}"}
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = api.container.engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        # A route that needs only the caller: a page of the caller's own (no) registrations.
        response = await api.client.get(f"{API}/users/me/registrations", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert response.status_code == 200, response.text
    reads = [s for s in statements if s.upper().startswith("SELECT")]
    identify = [s for s in reads if " sessions" in s]
    assert len(identify) == 1, reads
    assert " users" in identify[0], identify  # joined with the user in the same read
    assert not [s for s in statements if "refresh_tokens" in s], statements
