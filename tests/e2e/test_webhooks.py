"""Webhooks end to end over HTTP, on SQLite and PostgreSQL: an endpoint subscribed
through the API receives what happened, POSTed by the worker to a receiver on
loopback, and the Standard Webhooks reference library (`standardwebhooks`), not
only our own code, verifies every signature."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.mail.sink import MailSink
from application import webhook_signing
from application.ports.system import Clock
from domain import webhooks
from domain.users import Role
from tests.e2e.conftest import API, Api, Caller
from tests.webhook_receiver import Behaviour, Received, WebhookReceiver

W = f"{API}/webhooks"


class ShiftedClock(Clock):
    """Real time, moved forward on request (the worker's view of "later")."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    # The receiver listens on http://127.0.0.1.
    return {"EVENTAPI_WEBHOOK_ALLOW_HTTP": "on", "EVENTAPI_WEBHOOK_ALLOW_PRIVATE": "on"}


@pytest.fixture
def clock(api: Api) -> ShiftedClock:
    shifted = ShiftedClock()
    api.container.clock.override(providers.Object(shifted))
    return shifted


def work_off(api: Api) -> None:
    """One batch of the worker, as `eventapi worker` runs it."""
    worker = api.container.deliver_notifications()
    api.run(worker.execute)


async def subscribe(api: Api, owner: Caller, url: str, *types: str) -> dict[str, Any]:
    response = await api.client.post(
        W, json={"url": url, "event_types": list(types)}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


def verified(secret: str, request: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Verifier(secret).verify(request.body, request.headers)
    return payload


async def test_what_happens_to_an_event_reaches_the_endpoint_signed(
    api: Api, webhook_receiver: WebhookReceiver, clock: ShiftedClock
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    attendee = await api.user(Role.ATTENDEE, "attendee")
    hook = await subscribe(
        api,
        owner,
        webhook_receiver.url_for("/in"),
        "event.published",
        "registration.confirmed",
    )
    event = await api.published_event(owner, title="Webhook night")
    await api.join(attendee, event["id"])
    work_off(api)

    published, joined = webhook_receiver.wait_for(2, path="/in")
    first, second = verified(hook["secret"], published), verified(hook["secret"], joined)
    assert first["type"] == "event.published"
    assert first["data"]["event"] == {
        "id": event["id"],
        "title": "Webhook night",
        "starts_at": event["starts_at"],
        "ends_at": event["ends_at"],
        "status": "published",
    }
    assert second["type"] == "registration.confirmed"
    assert second["data"]["event_id"] == event["id"]
    assert second["data"]["user"] == {"id": attendee.user_id, "full_name": "Attendee Person"}
    for request in (published, joined):
        assert request.headers["content-type"].startswith("application/json")
        assert attendee.email not in request.body.decode()
        assert owner.email not in request.body.decode()
    assert published.headers["webhook-id"] != joined.headers["webhook-id"]

    log = await api.client.get(f"{W}/{hook['id']}/deliveries", headers=owner.headers)
    assert log.status_code == 200, log.text
    items = log.json()["items"]
    assert sorted(item["event_type"] for item in items) == [
        "event.published",
        "registration.confirmed",
    ]
    assert {(i["status"], i["response_status"], i["attempt"]) for i in items} == {
        ("delivered", 204, 1)
    }
    shown = await api.client.get(f"{W}/{hook['id']}", headers=owner.headers)
    assert shown.status_code == 200 and "secret" not in shown.json()


async def test_a_failed_delivery_is_retried_within_a_minute_with_the_same_webhook_id(
    api: Api, webhook_receiver: WebhookReceiver, clock: ShiftedClock
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    webhook_receiver.behave("/flaky", Behaviour(fail_first=1))
    hook = await subscribe(api, owner, webhook_receiver.url_for("/flaky"), "event.published")
    await api.published_event(owner)
    work_off(api)
    [failed] = webhook_receiver.wait_for(1, path="/flaky")
    work_off(api)  # not due yet: nothing more is sent
    assert len(webhook_receiver.requests_to("/flaky")) == 1

    clock.advance(timedelta(minutes=1))
    work_off(api)
    _, retried = webhook_receiver.wait_for(2, path="/flaky")
    assert retried.headers["webhook-id"] == failed.headers["webhook-id"]
    assert retried.body == failed.body
    verified(hook["secret"], failed)
    verified(hook["secret"], retried)

    log = await api.client.get(f"{W}/{hook['id']}/deliveries", headers=owner.headers)
    newest, oldest = log.json()["items"]
    assert (oldest["status"], oldest["response_status"], oldest["attempt"]) == ("failed", 500, 1)
    assert oldest["next_attempt_at"] is not None
    assert (newest["status"], newest["response_status"], newest["attempt"]) == (
        "delivered",
        204,
        2,
    )
    assert newest["message_id"] == failed.headers["webhook-id"]
    shown = await api.client.get(f"{W}/{hook['id']}", headers=owner.headers)
    assert shown.json()["failing_since"] is None  # the success ended the streak


async def test_after_a_rotation_old_and_new_secret_verify_for_24_hours(
    api: Api, webhook_receiver: WebhookReceiver, clock: ShiftedClock
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    hook = await subscribe(api, owner, webhook_receiver.url_for("/rot"), "event.published")
    rotated = await api.client.post(f"{W}/{hook['id']}/rotate-secret", headers=owner.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != hook["secret"]

    pinged = await api.client.post(f"{W}/{hook['id']}/ping", headers=owner.headers)
    assert pinged.status_code == 202, pinged.text
    work_off(api)
    [ping] = webhook_receiver.wait_for(1, path="/rot")
    assert verified(hook["secret"], ping)["type"] == "webhook.ping"
    assert verified(new_secret, ping)["data"] == {"webhook_id": hook["id"]}

    clock.advance(timedelta(hours=24, minutes=1))
    pinged = await api.client.post(f"{W}/{hook['id']}/ping", headers=owner.headers)
    assert pinged.status_code == 202, pinged.text
    work_off(api)
    _, later = webhook_receiver.wait_for(2, path="/rot")
    # Only the new secret signs now: one signature, ours and the library's alike
    # (the library refuses a timestamp a day ahead of the real clock, so the
    # signature is checked against the specification's own formula).
    headers = later.headers
    assert headers["webhook-signature"] == webhook_signing.sign(
        [new_secret],
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
        body=later.body,
    )
    assert (
        Verifier(new_secret).sign(
            headers["webhook-id"],
            datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC),
            later.body.decode(),
        )
        == headers["webhook-signature"]
    )


async def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_mailed(
    api: Api, webhook_receiver: WebhookReceiver, clock: ShiftedClock
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    webhook_receiver.behave("/down", Behaviour(status=503))
    hook = await subscribe(api, owner, webhook_receiver.url_for("/down"), "event.published")
    await api.published_event(owner)
    work_off(api)
    webhook_receiver.wait_for(1, path="/down")
    shown = await api.client.get(f"{W}/{hook['id']}", headers=owner.headers)
    assert shown.json()["failing_since"] is not None and shown.json()["enabled"] is True

    clock.advance(timedelta(days=3, minutes=1))
    work_off(api)  # the retry fails too, three days into the streak
    webhook_receiver.wait_for(2, path="/down")
    shown = await api.client.get(f"{W}/{hook['id']}", headers=owner.headers)
    assert shown.json()["enabled"] is False and shown.json()["disabled_at"] is not None

    work_off(api)  # the mail to the owner, through the same outbox
    sink = api.container.notifier()
    assert isinstance(sink, MailSink)
    mails = [m for m in sink.messages() if "webhook was disabled" in m.subject]
    assert len(mails) == 1 and owner.email in mails[0].to
    clock.advance(timedelta(hours=2))
    work_off(api)  # a disabled endpoint is not called again, nor is the owner mailed twice
    assert len(webhook_receiver.requests_to("/down")) == 2
    assert len([m for m in sink.messages() if "webhook was disabled" in m.subject]) == 1

    enabled = await api.client.patch(
        f"{W}/{hook['id']}", json={"enabled": True}, headers=owner.headers
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["failing_since"] is None and enabled.json()["disabled_at"] is None


async def test_the_api_refuses_bad_endpoints_and_hides_them_from_others(
    api: Api, webhook_receiver: WebhookReceiver
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    other = await api.user(Role.ORGANIZER, "other")
    for body in (
        {"url": "ftp://hooks.example.org/", "event_types": ["event.published"]},
        {"url": "https://hooks.example.org/", "event_types": ["event.exploded"]},
        {"url": "https://hooks.example.org/", "event_types": []},
        {"url": "https://hooks.example.org/", "event_types": ["event.published"], "x": 1},
        {"url": "https://" + "a" * 2100 + ".org/", "event_types": ["event.published"]},
    ):
        response = await api.client.post(W, json=body, headers=owner.headers)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    hook = await subscribe(api, owner, webhook_receiver.url_for("/x"), "event.published")
    for method, path in (
        ("GET", f"{W}/{hook['id']}"),
        ("DELETE", f"{W}/{hook['id']}"),
        ("POST", f"{W}/{hook['id']}/rotate-secret"),
    ):
        response = await api.client.request(method, path, headers=other.headers)
        assert response.status_code == 404, response.text
    listed = await api.client.get(W, headers=other.headers)
    assert listed.json()["items"] == []
    deleted = await api.client.delete(f"{W}/{hook['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    again = await api.client.get(f"{W}/{hook['id']}", headers=owner.headers)
    assert again.status_code == 404


async def test_a_deleted_endpoint_is_not_called(
    api: Api, webhook_receiver: WebhookReceiver
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    hook = await subscribe(api, owner, webhook_receiver.url_for("/gone"), "event.published")
    await api.published_event(owner)
    deleted = await api.client.delete(f"{W}/{hook['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    work_off(api)
    assert webhook_receiver.requests_to("/gone") == []


def test_the_reference_library_refuses_a_wrong_secret() -> None:
    body = json.dumps({"type": "webhook.ping", "timestamp": "x", "data": {}}).encode()
    secret, wrong = webhook_signing.new_secret(), webhook_signing.new_secret()
    headers = webhook_signing.headers(
        [secret], message_id="msg_1", timestamp=int(datetime.now(UTC).timestamp()), body=body
    )
    Verifier(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(wrong).verify(body, headers)


async def test_endpoints_are_exported_without_secrets_and_audited(
    api: Api, webhook_receiver: WebhookReceiver
) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    hook = await subscribe(api, owner, webhook_receiver.url_for("/e"), "event.cancelled")
    export = await api.client.get(f"{API}/users/me/export", headers=owner.headers)
    assert export.status_code == 200, export.text
    [exported] = export.json()["webhooks"]
    assert exported["id"] == hook["id"] and exported["event_types"] == ["event.cancelled"]
    assert "whsec_" not in export.text and hook["secret"] not in export.text

    deleted = await api.client.delete(f"{W}/{hook['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    admin = await api.admin()
    for action in ("webhook.created", "webhook.deleted"):
        audit = await api.client.get(
            f"{API}/audit-events", params={"action": action}, headers=admin.headers
        )
        [entry] = audit.json()["items"]
        assert (entry["subject_type"], entry["subject_id"], entry["actor_id"]) == (
            "webhook",
            hook["id"],
            owner.user_id,
        )


async def test_every_kind_of_activity_reaches_an_endpoint_subscribed_to_every_type(
    api: Api, webhook_receiver: WebhookReceiver, clock: ShiftedClock
) -> None:
    """The event's life, as its organizer's endpoint hears it: each type once, in
    order, with the payload docs/notifications.md shows; a PATCH that renames and
    resizes is one `event.updated` naming both fields."""
    owner = await api.user(Role.ORGANIZER, "owner")
    first, second = await api.user(name="first"), await api.user(name="second")
    hook = await subscribe(api, owner, webhook_receiver.url_for("/all"), *webhooks.WEBHOOK_TYPES)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    path = f"{API}/events/{event['id']}"
    seat = await api.join(first, event["id"])
    await api.join(second, event["id"])  # waitlisted
    left = await api.client.delete(f"{path}/registrations/me", headers=first.headers)
    assert left.status_code == 204, left.text  # `second` is promoted
    mine = await api.client.get(f"{API}/users/me/registrations", headers=second.headers)
    code = next(r["ticket_code"] for r in mine.json()["items"] if r["event_id"] == event["id"])
    scanned = await api.client.post(
        f"{path}/check-ins", json={"ticket_code": code}, headers=owner.headers
    )
    assert scanned.status_code == 201, scanned.text
    patched = await api.client.patch(
        path, json={"title": "Renamed", "capacity": 5}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    cancelled = await api.client.post(
        f"{path}/cancel", json={"reason": "rain"}, headers=owner.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    doomed = await api.published_event(owner)
    deleted = await api.client.delete(f"{API}/events/{doomed['id']}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    pinged = await api.client.post(f"{W}/{hook['id']}/ping", headers=owner.headers)
    assert pinged.status_code == 202, pinged.text
    work_off(api)

    expected = [
        "event.published",
        "registration.confirmed",
        "registration.waitlisted",
        "registration.cancelled",
        "registration.promoted",
        "check_in.created",
        "event.updated",
        "event.cancelled",
        "event.published",
        "event.deleted",
        "webhook.ping",
    ]
    received = webhook_receiver.wait_for(len(expected), path="/all")
    payloads = [verified(hook["secret"], request) for request in received]
    assert sorted(p["type"] for p in payloads) == sorted(expected)
    assert set(webhooks.WEBHOOK_TYPES) == {p["type"] for p in payloads}
    by_type = {p["type"]: p["data"] for p in payloads}
    assert by_type["registration.cancelled"]["registration_id"] == seat["id"]
    assert by_type["registration.promoted"]["user"] == {
        "id": second.user_id,
        "full_name": "Second Person",
    }
    assert by_type["check_in.created"]["user"]["id"] == second.user_id
    assert by_type["check_in.created"]["checked_in_at"] == scanned.json()["checked_in_at"]
    assert sorted(by_type["event.updated"]["changed"]) == ["capacity", "title"]
    assert by_type["event.cancelled"]["reason"] == "rain"
    assert by_type["event.deleted"]["event"]["id"] == doomed["id"]
    for request in received:
        body = request.body.decode()
        assert code not in body, "a payload carries a ticket code"
        assert all(c.email not in body for c in (owner, first, second))


def readme_webhooks() -> tuple[dict[str, Any], str]:
    """The README's "Webhooks, verified in a few lines": the subscription body its
    curl sends, and its Python receiver."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Webhooks, verified in a few lines", 1)[1].split("\n## ", 1)[0]
    body = re.search(r"-d '(\{.*?\})'", section, re.S)
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert body is not None and code is not None, "the README lost its webhook example"
    return json.loads(body.group(1)), code.group(1)


async def test_the_readme_receiver_verifies_a_real_delivery(
    api: Api, webhook_receiver: WebhookReceiver, clock: ShiftedClock
) -> None:
    subscription, receiver_code = readme_webhooks()
    owner, guest = await api.user(Role.ORGANIZER, "owner"), await api.user(name="guest")
    url = webhook_receiver.url_for("/readme")  # the README's URL, on loopback
    hook = await subscribe(api, owner, url, *subscription["event_types"])
    event = await api.published_event(owner)
    await api.join(guest, event["id"])
    work_off(api)
    (delivery,) = webhook_receiver.wait_for(1, path="/readme")

    namespace: dict[str, Any] = {}
    exec(compile(receiver_code, "README.md", "exec"), namespace)  # noqa: S102 - our README
    receive = namespace["receive"]
    payload = receive(delivery.body, delivery.headers, hook["secret"])
    assert payload["type"] == "registration.confirmed"
    assert payload["data"]["user"]["id"] == guest.user_id
    with pytest.raises(WebhookVerificationError):
        receive(delivery.body + b" ", delivery.headers, hook["secret"])
