from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType

from application.ports.queries import UserView
from domain.values import LONGEST_PASSWORD_POLICY, SHORTEST_PASSWORD_POLICY
from entrypoints.http.schemas.common import NOT_BLANK

RoleName = Literal["attendee", "organizer", "admin"]
Email = Annotated[str, Meta(min_length=3, max_length=254, examples=["ada@example.org"])]
#: A new password. Its length is the configured policy's (domain.values.PasswordPolicy,
#: EVENTAPI_PASSWORD_MIN/MAX_LENGTH), checked by the use case; here only the widest a
#: deployment may configure, so that the edge is never stricter than the policy. The
#: OpenAPI document states the configured lengths (entrypoints/http/openapi.py), and
#: no control characters (Unicode category Cc). Off the common-passwords list too,
#: which no schema can say: such a password is refused with a 400.
Password = Annotated[
    str,
    Meta(
        min_length=SHORTEST_PASSWORD_POLICY,
        max_length=LONGEST_PASSWORD_POLICY,
        pattern=r"^[^\x00-\x1f\x7f-\x9f]*$",
        examples=["correct horse battery"],
    ),
]
#: The password an account has now: only compared, so any length a sign-in accepts.
CurrentPassword = Annotated[str, Meta(min_length=1, max_length=1024)]
FullName = Annotated[
    str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK, examples=["Ada Lovelace"])
]


#: A token from a mail (password reset, e-mail verification): 43 URL-safe characters
#: as issued; anything up to 256 is looked up (and is simply not found).
MailedToken = Annotated[str, Meta(min_length=1, max_length=256)]


class PasswordResetIn(Struct, forbid_unknown_fields=True, frozen=True):
    email: Email


class PasswordResetConfirmIn(Struct, forbid_unknown_fields=True, frozen=True):
    token: MailedToken
    password: Password


class VerifyEmailIn(Struct, forbid_unknown_fields=True, frozen=True):
    token: MailedToken


class SignUpIn(Struct, forbid_unknown_fields=True, frozen=True):
    email: Email
    password: Password
    full_name: FullName


class NewUserIn(Struct, forbid_unknown_fields=True, frozen=True):
    email: Email
    password: Password
    full_name: FullName
    role: RoleName


class OwnProfileIn(Struct, forbid_unknown_fields=True, frozen=True):
    full_name: FullName | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    current_password: CurrentPassword | UnsetType = UNSET


class UserChangesIn(Struct, forbid_unknown_fields=True, frozen=True):
    full_name: FullName | UnsetType = UNSET
    role: RoleName | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class UserOut(Struct, frozen=True):
    id: UUID
    email: str
    full_name: str
    role: RoleName
    is_active: bool
    #: Whether the owner proved they read mail at `email` (POST /auth/verify-email).
    email_verified: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: UserView) -> UserOut:
        return cls(
            id=view.id,
            email=view.email,
            full_name=view.full_name,
            role=view.role.value,
            is_active=view.is_active,
            email_verified=view.email_verified,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


class UserPage(Struct, frozen=True):
    items: list[UserOut]
    next_cursor: str | None
