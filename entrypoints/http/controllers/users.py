"""`/api/v1/users`: one's own account, and account management for admins."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Response, Stream

from application.ports.queries import DEFAULT_PAGE_SIZE, UserCriteria
from application.principal import Principal
from application.use_cases.close_own_account import CloseOwnAccount, CloseOwnAccountCommand
from application.use_cases.create_user import CreateUser, CreateUserCommand
from application.use_cases.delete_user import DeleteUser, DeleteUserCommand
from application.use_cases.export_my_data import ExportMyData, ExportMyDataCommand
from application.use_cases.get_user import GetUser, GetUserCommand
from application.use_cases.list_my_registrations import (
    ListMyRegistrations,
    ListMyRegistrationsCommand,
)
from application.use_cases.list_users import ListUsers, ListUsersCommand
from application.use_cases.update_own_profile import UpdateOwnProfile, UpdateOwnProfileCommand
from application.use_cases.update_user import UpdateUser, UpdateUserCommand
from domain.users import Role
from entrypoints.http.cursors import CursorCodec
from entrypoints.http.exports import export_json, filename
from entrypoints.http.guards import requires_bearer
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import BEARER, responses
from entrypoints.http.paging import NO_NUL, Limit, page_request, query_fingerprint
from entrypoints.http.schemas.common import given
from entrypoints.http.schemas.exports import PersonalDataExportOut
from entrypoints.http.schemas.registrations import RegistrationOut, RegistrationPage
from entrypoints.http.schemas.users import (
    NewUserIn,
    OwnProfileIn,
    RoleName,
    UserChangesIn,
    UserOut,
    UserPage,
)

Principal_ = NamedDependency[Principal | None]


#: What both DELETE routes do (contract v1.1, "Changed in v1.1"; docs/security.md, Erasure).
ERASURE = (
    "Erases the account, for good, in one transaction: the email, name and password"
    " hash are replaced by a tombstone (events the person organised keep it as"
    ' their organizer, shown as "Former member"), every session is revoked,'
    " registrations for events that have not ended are released (the waitlist moves"
    " up, and whoever is promoted is told), the person's published events that have"
    " not ended are cancelled with their attendees notified, and their drafts are"
    " deleted. Registrations of past events remain only as the events' attendee"
    " counts; notifications addressed to the person are deleted. Afterwards `GET"
    " /users/{id}` is 404 and the email may be registered again."
)


class OwnAccountController(Controller):
    path = "/api/v1/users/me"
    tags = ["users"]
    security = BEARER
    guards = [requires_bearer]

    @get("", summary="My account", responses=responses(401, 429))
    async def me(self, principal: Principal_, get_user: NamedDependency[GetUser]) -> UserOut:
        return UserOut.of(await get_user.execute(GetUserCommand(actor=principal)))

    @patch("", summary="Change my name or password", responses=responses(400, 401, 413, 415, 429))
    async def update_me(
        self,
        data: JSONBody[OwnProfileIn],
        principal: Principal_,
        update_own_profile: NamedDependency[UpdateOwnProfile],
    ) -> UserOut:
        view = await update_own_profile.execute(
            UpdateOwnProfileCommand(
                actor=principal,
                full_name=given(data.full_name),
                password=given(data.password),
                current_password=given(data.current_password),
            )
        )
        return UserOut.of(view)

    @delete(
        "",
        status_code=204,
        summary="Erase my account",
        description=ERASURE
        + " The last active admin cannot erase their own account (409). Afterwards every"
        " token of the account is dead (401).",
        responses=responses(401, 409, 429),
    )
    async def close_me(
        self, principal: Principal_, close_own_account: NamedDependency[CloseOwnAccount]
    ) -> None:
        await close_own_account.execute(CloseOwnAccountCommand(actor=principal))

    @get(
        "/export",
        summary="Everything held about me, as one JSON document (streamed)",
        description="Profile, registrations, events organised, notifications, webhooks and "
        "audit entries: never a password hash, token or secret. Written as it is read, in "
        "batches, so a long history is never held in memory; sent as an attachment and "
        "never cached. Counts against the signed-in rate limit like any request "
        '(docs/security.md, "Data export").',
        responses={
            200: ResponseSpec(
                data_container=PersonalDataExportOut,
                description="The caller's data, as a download.",
                generate_examples=False,
            ),
            **responses(401, 429),
        },
    )
    async def export_me(
        self, principal: Principal_, export_my_data: NamedDependency[ExportMyData]
    ) -> Stream:
        export = await export_my_data.execute(ExportMyDataCommand(actor=principal))
        return Stream(
            export_json(export),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="{filename(export)}"',
                "Cache-Control": "no-store",
            },
        )

    @get(
        "/registrations",
        summary="My registrations, by event start",
        responses=responses(400, 401, 429),
    )
    async def my_registrations(
        self,
        request: Request[Any, Any, Any],
        principal: Principal_,
        list_my_registrations: NamedDependency[ListMyRegistrations],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: FromQuery[str | None] = None,
        upcoming: FromQuery[bool] = False,
    ) -> RegistrationPage:
        fingerprint = query_fingerprint(request, "my-registrations")
        page = await list_my_registrations.execute(
            ListMyRegistrationsCommand(
                actor=principal,
                page=page_request(cursors, limit, cursor, fingerprint),
                upcoming=upcoming,
            )
        )
        return RegistrationPage(
            items=[RegistrationOut.of(item) for item in page.items],
            next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
        )


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    security = BEARER
    guards = [requires_bearer]

    @get("", summary="List users (admin)", responses=responses(400, 401, 403, 429))
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        principal: Principal_,
        list_users: NamedDependency[ListUsers],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: FromQuery[str | None] = None,
        role: FromQuery[RoleName | None] = None,
        is_active: FromQuery[bool | None] = None,
        q: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
    ) -> UserPage:
        fingerprint = query_fingerprint(request, "users")
        page = await list_users.execute(
            ListUsersCommand(
                actor=principal,
                criteria=UserCriteria(
                    role=Role(role) if role else None, is_active=is_active, text=q or None
                ),
                page=page_request(cursors, limit, cursor, fingerprint),
            )
        )
        return UserPage(
            items=[UserOut.of(item) for item in page.items],
            next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
        )

    @idempotent
    @post(
        "",
        status_code=201,
        summary="Create a user with any role (admin)",
        responses=responses(400, 401, 403, 409, 413, 415, 429),
    )
    async def create_user(
        self,
        data: JSONBody[NewUserIn],
        principal: Principal_,
        create_user: NamedDependency[CreateUser],
    ) -> Response[UserOut]:
        view = await create_user.execute(
            CreateUserCommand(
                actor=principal,
                email=data.email,
                password=data.password,
                full_name=data.full_name,
                role=Role(data.role),
            )
        )
        return Response(
            UserOut.of(view), status_code=201, headers={"Location": f"/api/v1/users/{view.id}"}
        )

    @get("/{user_id:uuid}", summary="A user (admin)", responses=responses(400, 401, 403, 404, 429))
    async def get_user(
        self, user_id: FromPath[UUID], principal: Principal_, get_user: NamedDependency[GetUser]
    ) -> UserOut:
        return UserOut.of(await get_user.execute(GetUserCommand(actor=principal, user_id=user_id)))

    @patch(
        "/{user_id:uuid}",
        summary="Rename, change the role of, or (de)activate a user (admin)",
        responses=responses(400, 401, 403, 404, 409, 413, 415, 429),
    )
    async def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserChangesIn],
        principal: Principal_,
        update_user: NamedDependency[UpdateUser],
    ) -> UserOut:
        role = given(data.role)
        view = await update_user.execute(
            UpdateUserCommand(
                actor=principal,
                user_id=user_id,
                full_name=given(data.full_name),
                role=Role(role) if role else None,
                is_active=given(data.is_active),
            )
        )
        return UserOut.of(view)

    @delete(
        "/{user_id:uuid}",
        status_code=204,
        summary="Erase a user's account (admin)",
        description=ERASURE
        + " The last active admin cannot be erased (409); an account erased already is"
        " 404. To deactivate an account reversibly, send `PATCH /users/{id}"
        ' {"is_active": false}` instead.',
        responses=responses(400, 401, 403, 404, 409, 429),
    )
    async def delete_user(
        self,
        user_id: FromPath[UUID],
        principal: Principal_,
        delete_user: NamedDependency[DeleteUser],
    ) -> None:
        await delete_user.execute(DeleteUserCommand(actor=principal, user_id=user_id))
