"""`/api/v1/audit-events`: the audit log, for admins, read only."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter

from application.audit import ACTIONS
from application.ports.audit import MAX_ACTION_LENGTH, AuditCriteria
from application.ports.queries import DEFAULT_PAGE_SIZE
from application.principal import Principal
from application.use_cases.list_audit_events import ListAuditEvents, ListAuditEventsCommand
from entrypoints.http.controllers.events import DateOrMoment, _moment
from entrypoints.http.cursors import CursorCodec
from entrypoints.http.guards import requires_bearer
from entrypoints.http.openapi import BEARER, responses
from entrypoints.http.paging import Limit, page_request, query_fingerprint
from entrypoints.http.schemas.audit import AuditEventOut, AuditEventPage

Principal_ = NamedDependency[Principal | None]
Action = Annotated[
    str | None,
    Parameter(
        max_length=MAX_ACTION_LENGTH,
        pattern=r"^[a-z_]+\.[a-z_]+$",
        description="Only this action: " + ", ".join(f"`{action}`" for action in ACTIONS),
    ),
]


class AuditController(Controller):
    path = "/api/v1/audit-events"
    tags = ["audit"]
    security = BEARER
    guards = [requires_bearer]

    @get(
        "",
        summary="The audit log, newest first (admin)",
        description="Sign-in failures and lockouts, password changes, role and active "
        "changes, event publishing, cancelling and deleting, and attendee removals, each "
        "recorded in the transaction of the change. Append-only: no route changes or "
        "deletes an entry.",
        responses=responses(400, 401, 403, 429),
    )
    async def list_audit_events(
        self,
        request: Request[Any, Any, Any],
        principal: Principal_,
        list_audit_events: NamedDependency[ListAuditEvents],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Annotated[str | None, Parameter(max_length=500)] = None,
        actor_id: FromQuery[UUID | None] = None,
        subject_id: FromQuery[UUID | None] = None,
        action: Action = None,
        since: DateOrMoment = None,
        until: DateOrMoment = None,
    ) -> AuditEventPage:
        fingerprint = query_fingerprint(request, "audit-events")
        page = await list_audit_events.execute(
            ListAuditEventsCommand(
                actor=principal,
                criteria=AuditCriteria(
                    actor_id=actor_id,
                    subject_id=subject_id,
                    action=action,
                    since=_moment(since, "since", end_of_day=False),
                    until=_moment(until, "until", end_of_day=True),
                ),
                page=page_request(cursors, limit, cursor, fingerprint),
            )
        )
        return AuditEventPage(
            items=[AuditEventOut.of(entry) for entry in page.items],
            next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
        )
