"""`/api/v1/events/{id}/...`: joining, leaving, and the attendee list."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from application.ports.queries import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from application.principal import Principal
from application.use_cases.check_in import CheckInAttendee, CheckInCommand
from application.use_cases.leave_event import LeaveEvent, LeaveEventCommand
from application.use_cases.list_attendees import ListAttendees, ListAttendeesCommand
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from application.use_cases.remove_attendee import RemoveAttendee, RemoveAttendeeCommand
from domain.registration import RegistrationStatus
from entrypoints.http.cursors import CursorCodec
from entrypoints.http.guards import requires_bearer
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import BEARER, responses
from entrypoints.http.paging import Limit, page_request, query_fingerprint
from entrypoints.http.schemas.check_ins import CheckInIn, CheckInOut
from entrypoints.http.schemas.registrations import RegistrationOut, RegistrationPage

Principal_ = NamedDependency[Principal | None]
CSV_COLUMNS = (
    "registration_id",
    "user_id",
    "full_name",
    "status",
    "waitlist_position",
    "joined_at",
    "checked_in_at",
    "ticket_code",
)


def _csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in text a user chose."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


class RegistrationsController(Controller):
    path = "/api/v1/events/{event_id:uuid}"
    tags = ["registrations"]
    security = BEARER
    guards = [requires_bearer]

    @idempotent
    @post(
        "/registrations",
        status_code=201,
        summary="Join an event: a seat, or a place on the waitlist",
        responses=responses(400, 401, 404, 409, 429),
    )
    async def join(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        register_for_event: NamedDependency[RegisterForEvent],
    ) -> Response[RegistrationOut]:
        view = await register_for_event.execute(
            RegisterForEventCommand(actor=principal, event_id=event_id)
        )
        return Response(
            RegistrationOut.of(view),
            status_code=201,
            headers={"Location": f"/api/v1/events/{event_id}/registrations/{view.id}"},
        )

    @delete(
        "/registrations/me",
        status_code=204,
        summary="Leave an event; the first waitlisted person gets the seat",
        responses=responses(400, 401, 404, 409, 429),
    )
    async def leave(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        leave_event: NamedDependency[LeaveEvent],
    ) -> None:
        await leave_event.execute(LeaveEventCommand(actor=principal, event_id=event_id))

    @delete(
        "/registrations/{registration_id:uuid}",
        status_code=204,
        summary="Remove someone's registration (owner, admin)",
        responses=responses(400, 401, 403, 404, 409, 429),
    )
    async def remove(
        self,
        event_id: FromPath[UUID],
        registration_id: FromPath[UUID],
        principal: Principal_,
        remove_attendee: NamedDependency[RemoveAttendee],
    ) -> None:
        await remove_attendee.execute(
            RemoveAttendeeCommand(
                actor=principal, event_id=event_id, registration_id=registration_id
            )
        )

    @idempotent
    @post(
        "/check-ins",
        status_code=201,
        summary="Check someone in by their ticket code (owner, co-organizer, admin)",
        description=(
            "Exactly once per ticket: of any number of simultaneous scans of one code, one "
            "is 201 and every other one a 409 `/problems/already-checked-in` whose "
            "`checked_in_at` is the first check-in's time. A code that is not a "
            "registration of this event (another event's included) is 404; a cancelled "
            "registration's code is 409 `/problems/ticket-not-valid` (waitlisted places "
            "have no code until they are promoted)."
        ),
        responses=responses(400, 401, 403, 404, 409, 413, 415, 429),
    )
    async def check_in(
        self,
        event_id: FromPath[UUID],
        data: JSONBody[CheckInIn],
        principal: Principal_,
        check_in_attendee: NamedDependency[CheckInAttendee],
    ) -> Response[CheckInOut]:
        view = await check_in_attendee.execute(
            CheckInCommand(actor=principal, event_id=event_id, ticket_code=data.ticket_code)
        )
        return Response(CheckInOut.of(view), status_code=201)

    @get(
        "/attendees",
        summary="Registrations of an event (owner, admin); `Accept: text/csv` exports all",
        responses={
            **responses(400, 401, 403, 404, 429),
            200: ResponseSpec(
                RegistrationPage,
                description="A page of registrations; with `Accept: text/csv`, every "
                "registration as CSV (`text/csv`, one header row) instead.",
                generate_examples=False,
            ),
        },
    )
    async def attendees(
        self,
        request: Request[Any, Any, Any],
        event_id: FromPath[UUID],
        principal: Principal_,
        list_attendees: NamedDependency[ListAttendees],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: FromQuery[str | None] = None,
        status: FromQuery[Literal["confirmed", "waitlisted"] | None] = None,
    ) -> Response[Any]:
        wanted = RegistrationStatus(status) if status else None
        command = ListAttendeesCommand(
            actor=principal, event_id=event_id, page=PageRequest(limit=1), status=wanted
        )
        if "text/csv" in request.headers.get("accept", ""):
            await list_attendees.execute(command)  # authorise before streaming anything
            return Stream(
                _csv_rows(list_attendees, command),
                media_type="text/csv",  # Litestar adds `; charset=utf-8` to text/*
                headers={"Content-Disposition": f'attachment; filename="attendees-{event_id}.csv"'},
            )
        fingerprint = query_fingerprint(request, "attendees")
        page = await list_attendees.execute(
            ListAttendeesCommand(
                actor=principal,
                event_id=event_id,
                page=page_request(cursors, limit, cursor, fingerprint),
                status=wanted,
            )
        )
        return Response(
            RegistrationPage(
                items=[RegistrationOut.of(item) for item in page.items],
                next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
            )
        )


async def _csv_rows(use_case: ListAttendees, command: ListAttendeesCommand) -> AsyncIterator[str]:
    """Every registration, a page at a time, so a large event is never held in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    after = None
    while True:
        page = await use_case.execute(
            ListAttendeesCommand(
                actor=command.actor,
                event_id=command.event_id,
                page=PageRequest(limit=MAX_PAGE_SIZE, after=after),
                status=command.status,
            )
        )
        for item in page.items:
            writer.writerow(
                [
                    _csv_cell(value)
                    for value in (
                        item.id,
                        item.user_id,
                        item.user.full_name if item.user else "",
                        item.status.value,
                        item.waitlist_position,
                        item.created_at.isoformat(),
                        item.checked_in_at.isoformat() if item.checked_in_at else "",
                        item.ticket_code,
                    )
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.next is None:
            return
        after = page.next
