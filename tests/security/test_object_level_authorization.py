"""Broken object-level authorization (OWASP API1:2023): every route that takes an
id, called by every kind of caller with the ids of *other people's* objects and
with random ids. Every such request is refused (401, 403 or 404; 409 where the
caller is simply not registered), the whole database is byte-for-byte the same
after each one, and no refusal names the object it refused.

The world: organizers `owner` and `rival`, attendees `alice` and `bob`, an
admin. Each organizer has a published event and a draft; alice holds a seat at
owner's event, bob at rival's. The callers attack what is not theirs:

- anonymous: everything;
- alice (attendee): both organizers' events and drafts, bob's registration,
  every user id;
- rival (organizer): owner's events and draft, alice's registration (under
  owner's event, and smuggled under rival's own event), every user id;
- admin: random ids, and a registration id under an event it does not belong to
  (an admin may manage both, but the pair must still match).

Reads that the contract makes public (a published event and its .ics) are left
out: they are not someone's private object.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from tests.e2e.conftest import ANONYMOUS, API, PASSWORD, PROBLEM_JSON, Api, Caller

E = f"{API}/events"
U = f"{API}/users"
REFUSED = {401, 403, 404}
RANDOM_IDS = (str(uuid.uuid4()), str(uuid.UUID(int=0)), "ffffffff-ffff-7fff-bfff-ffffffffffff")


@dataclass
class World:
    callers: dict[str, Caller]
    #: published_owner, draft_owner, published_rival, draft_rival, reg_alice, reg_bob
    ids: dict[str, str]
    #: Text that only the objects' owners may read (draft titles, e-mail addresses).
    secrets: tuple[str, ...]


async def build_world(api: Api) -> World:
    people = {
        "owner": Role.ORGANIZER,
        "rival": Role.ORGANIZER,
        "alice": Role.ATTENDEE,
        "bob": Role.ATTENDEE,
        "admin": Role.ADMIN,
    }
    emails = {name: api.email(name) for name in people}
    sign_up = api.container.sign_up()

    async def open_accounts() -> None:
        for name, role in people.items():
            command = SignUpCommand(email=emails[name], password=PASSWORD, full_name=name.title())
            await sign_up.open_account(command, role)

    api.run(open_accounts)
    callers = {name: await api.sign_in(name, emails[name]) for name in people}
    ids: dict[str, str] = {}
    for organizer in ("owner", "rival"):
        who = callers[organizer]
        published = await api.create_event(who, title=f"{organizer} public", status="published")
        draft = await api.create_event(who, title=f"Secret draft of {organizer}")
        ids[f"published_{organizer}"] = published["id"]
        ids[f"draft_{organizer}"] = draft["id"]
    ids["reg_alice"] = (await api.join(callers["alice"], ids["published_owner"]))["id"]
    ids["reg_bob"] = (await api.join(callers["bob"], ids["published_rival"]))["id"]
    for name in people:
        ids[f"user_{name}"] = callers[name].user_id
    return World(
        callers={"anonymous": ANONYMOUS, **callers},
        ids=ids,
        secrets=("Secret draft of owner", "Secret draft of rival", *emails.values()),
    )


@dataclass(frozen=True)
class Attack:
    caller: str
    method: str
    path: str
    json: dict[str, Any] | None = None
    allowed: frozenset[int] = frozenset(REFUSED)

    @property
    def id(self) -> str:
        return f"{self.caller}: {self.method} {self.path}"


def attacks(world: World) -> list[Attack]:
    """Every (caller, id route, foreign or random id) with what it may get."""
    ids = world.ids
    found: list[Attack] = []

    def add(caller: str, events: list[str], registrations: list[tuple[str, str]]) -> None:
        users = [v for k, v in ids.items() if k.startswith("user_") and k != f"user_{caller}"]
        for user in [*users, *RANDOM_IDS]:
            found.append(Attack(caller, "GET", f"{U}/{user}"))
            found.append(Attack(caller, "PATCH", f"{U}/{user}", {"full_name": "Pwned"}))
            found.append(Attack(caller, "DELETE", f"{U}/{user}"))
        for event in events:
            drafts = event in {ids["draft_owner"], ids["draft_rival"]} or event in RANDOM_IDS
            if drafts:  # private until published: not even readable
                found.append(Attack(caller, "GET", f"{E}/{event}"))
                found.append(Attack(caller, "GET", f"{E}/{event}/calendar.ics"))
                found.append(Attack(caller, "POST", f"{E}/{event}/registrations"))
            found.append(Attack(caller, "PATCH", f"{E}/{event}", {"title": "Pwned"}))
            found.append(Attack(caller, "PATCH", f"{E}/{event}", {"status": "published"}))
            found.append(Attack(caller, "PATCH", f"{E}/{event}", {"capacity": 1}))
            found.append(Attack(caller, "DELETE", f"{E}/{event}"))
            found.append(Attack(caller, "POST", f"{E}/{event}/cancel", {"reason": "pwned"}))
            found.append(Attack(caller, "GET", f"{E}/{event}/attendees"))
            if (caller, event) in seats:
                continue  # leaving one's own seat is no attack
            # Leaving an event one holds no seat at: nothing to leave.
            found.append(
                Attack(
                    caller,
                    "DELETE",
                    f"{E}/{event}/registrations/me",
                    allowed=frozenset({*REFUSED, 409}),
                )
            )
        for event, registration in registrations:
            found.append(Attack(caller, "DELETE", f"{E}/{event}/registrations/{registration}"))

    seats = {("alice", ids["published_owner"]), ("bob", ids["published_rival"])}
    owner_events = [ids["published_owner"], ids["draft_owner"]]
    rival_events = [ids["published_rival"], ids["draft_rival"]]
    everyone_s = [
        (ids["published_owner"], ids["reg_alice"]),
        (ids["published_rival"], ids["reg_bob"]),
    ]
    randoms = [(event, r) for event in RANDOM_IDS[:1] for r in (ids["reg_alice"], RANDOM_IDS[1])]
    add("anonymous", [*owner_events, *rival_events, *RANDOM_IDS], [*everyone_s, *randoms])
    add(
        "alice",
        [*owner_events, *rival_events, *RANDOM_IDS],
        [
            (ids["published_rival"], ids["reg_bob"]),
            (ids["published_owner"], ids["reg_bob"]),
            (ids["published_owner"], ids["reg_alice"]),
            *randoms,
        ],
    )
    add(
        "rival",
        [*owner_events, *RANDOM_IDS],
        [
            (ids["published_owner"], ids["reg_alice"]),
            # rival manages its own event, but alice's registration is not under it:
            (ids["published_rival"], ids["reg_alice"]),
            (ids["published_rival"], RANDOM_IDS[0]),
            *randoms,
        ],
    )
    # The admin may manage everything; random ids and mismatched pairs still find nothing.
    found += [
        Attack("admin", method, f"{U}/{user}", body)
        for user in RANDOM_IDS
        for method, body in (("GET", None), ("PATCH", {"full_name": "X"}), ("DELETE", None))
    ]
    for event in RANDOM_IDS:
        found += [
            Attack("admin", "GET", f"{E}/{event}"),
            Attack("admin", "PATCH", f"{E}/{event}", {"title": "X"}),
            Attack("admin", "DELETE", f"{E}/{event}"),
            Attack("admin", "POST", f"{E}/{event}/cancel"),
            Attack("admin", "GET", f"{E}/{event}/attendees"),
            Attack("admin", "GET", f"{E}/{event}/calendar.ics"),
            Attack("admin", "POST", f"{E}/{event}/registrations"),
        ]
    found += [
        Attack("admin", "DELETE", f"{E}/{ids['published_rival']}/registrations/{ids['reg_alice']}"),
        Attack("admin", "DELETE", f"{E}/{ids['draft_owner']}/registrations/{ids['reg_alice']}"),
        Attack("admin", "DELETE", f"{E}/{ids['published_owner']}/registrations/{RANDOM_IDS[2]}"),
    ]
    return found


async def test_no_caller_reaches_an_object_that_is_not_theirs(api: Api) -> None:
    world = await build_world(api)
    planned = attacks(world)
    failures: list[str] = []
    before = api.snapshot()

    for attack in planned:
        caller = world.callers[attack.caller]
        response = await api.client.request(
            attack.method, attack.path, headers=caller.headers, json=attack.json
        )
        if response.status_code not in attack.allowed:
            failures.append(f"{attack.id}: {response.status_code} {response.text[:120]}")
        elif not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            failures.append(f"{attack.id}: a {response.status_code} that is not problem+json")
        if leaked := [secret for secret in world.secrets if secret in response.text]:
            failures.append(f"{attack.id}: the refusal names {leaked}")
        after = api.snapshot()
        if after != before:
            failures.append(f"{attack.id}: refused with {response.status_code}, yet data changed")
            before = after

    assert not failures, "\n".join(failures)
    assert len(planned) > 150  # every id route, every caller, many ids


async def test_nobody_lists_another_organizers_drafts_by_filtering_for_them(api: Api) -> None:
    world = await build_world(api)
    owner_drafts = {"organizer_id": world.ids["user_owner"], "status": "draft"}

    for name in ("anonymous", "alice", "rival", "bob"):
        response = await api.client.get(E, params=owner_drafts, headers=world.callers[name].headers)
        listed = {item["id"] for item in response.json().get("items", [])}
        assert response.status_code in {200, 401, 403}, (name, response.text)
        assert world.ids["draft_owner"] not in listed, name
    own = await api.client.get(E, params=owner_drafts, headers=world.callers["owner"].headers)
    assert world.ids["draft_owner"] in {item["id"] for item in own.json()["items"]}
