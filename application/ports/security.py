"""Credentials and untrusted content: hashing, tokens, password lists, HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.users import Role


class PasswordHasher(Protocol):
    """Slow, salted password hashing that never blocks the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """False on mismatch. With no hash (unknown account) it spends the same
        time as a real check and returns False, so timing reveals nothing."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with an old key or cost: store a new one."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID
    role: Role
    expires_at: datetime


class TokenService(Protocol):
    """Signed access tokens, and opaque refresh tokens stored only as digests."""

    @property
    def access_ttl_seconds(self) -> int: ...

    def issue_access(
        self, *, user_id: UUID, session_id: UUID, role: Role, now: datetime
    ) -> str: ...

    def read_access(self, token: str, now: datetime) -> AccessClaims:
        """The claims of a valid access token; raises NotAuthenticated otherwise."""
        ...

    def new_refresh_token(self) -> str: ...

    def digest(self, refresh_token: str) -> str:
        """A one-way digest of a refresh token, the only form that is stored."""
        ...


class CommonPasswords(Protocol):
    """A list of passwords too common to allow."""

    def __contains__(self, password: object) -> bool: ...


class HtmlSanitizer(Protocol):
    """Reduces untrusted HTML to a safe allowlisted subset."""

    def clean(self, html: str) -> str: ...
