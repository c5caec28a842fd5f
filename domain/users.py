"""Users, their roles, and the sign-in sessions (refresh-token families) they hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.domain_events import (
    AccountActivated,
    AccountDeactivated,
    AccountErased,
    DomainEvent,
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordReset,
    PasswordResetRequested,
    RoleChanged,
    UserSignedUp,
)
from domain.errors import InvalidCredentials, InvalidToken, LastActiveAdmin, NotFound
from domain.values import EmailAddress, plain_text


class Role(StrEnum):
    """admin > organizer > attendee."""

    ATTENDEE = "attendee"
    ORGANIZER = "organizer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.ATTENDEE: 0, Role.ORGANIZER: 1, Role.ADMIN: 2}


#: What an erased account shows where its name used to be (an event it organised).
ERASED_NAME = "Former member"
#: The domain of erased accounts' placeholder addresses: reserved (RFC 2606), so no
#: mail can ever reach one, and each address is unique, so the account's former
#: address is free again.
ERASED_DOMAIN = "erased.invalid"


def erased_email(user_id: UUID) -> EmailAddress:
    return EmailAddress(f"erased-{user_id.hex}@{ERASED_DOMAIN}")


def full_name(value: str) -> str:
    return plain_text("full_name", value, min_length=1, max_length=200)


@dataclass(kw_only=True, slots=True)
class User:
    id: UUID
    email: EmailAddress
    full_name: str
    role: Role
    password_hash: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    #: When the account was erased: only a tombstone is left (see `erase`).
    erased_at: datetime | None = None
    #: Whether the owner proved they read mail at `email` (a mailed token came back).
    email_verified: bool = False
    recorded: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.full_name = full_name(self.full_name)

    @classmethod
    def sign_up(
        cls,
        *,
        id: UUID,
        email: EmailAddress,
        full_name: str,
        role: Role,
        password_hash: str,
        now: datetime,
        verification_token: str = "",
        verification_expires_at: datetime | None = None,
    ) -> User:
        """A new, active account with an unverified address; its owner is welcomed,
        with the link that verifies the address when a token is given."""
        user = cls(
            id=id,
            email=email,
            full_name=full_name,
            role=role,
            password_hash=password_hash,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        user.recorded.append(
            UserSignedUp(
                occurred_at=now,
                user_id=id,
                verification_token=verification_token,
                verification_expires_at=verification_expires_at,
            )
        )
        return user

    def pull_recorded(self) -> list[DomainEvent]:
        recorded, self.recorded = self.recorded, []
        return recorded

    @property
    def is_active_admin(self) -> bool:
        return self.is_active and self.role is Role.ADMIN

    def rename(self, name: str, now: datetime) -> None:
        self.full_name = full_name(name)
        self.updated_at = now

    def set_password_hash(self, password_hash: str, now: datetime) -> None:
        """The same password, hashed anew (after a cost or pepper change): no fact."""
        self.password_hash = password_hash
        self.updated_at = now

    def change_password(self, password_hash: str, now: datetime) -> None:
        """The owner chose a new password."""
        self.set_password_hash(password_hash, now)
        self.recorded.append(PasswordChanged(occurred_at=now, user_id=self.id))

    def request_password_reset(self, *, token: str, expires_at: datetime, now: datetime) -> None:
        """Mail a reset link carrying `token` (raw; its digest is stored apart)."""
        self.recorded.append(
            PasswordResetRequested(
                occurred_at=now, user_id=self.id, token=token, expires_at=expires_at
            )
        )

    def reset_password(self, password_hash: str, now: datetime) -> None:
        """A new password through a mailed reset token. The token reached the
        owner at this address, which proves they read it: it counts as verified."""
        self.password_hash = password_hash
        self.email_verified = True
        self.updated_at = now
        self.recorded.append(PasswordReset(occurred_at=now, user_id=self.id))

    def request_email_verification(
        self, *, token: str, expires_at: datetime, now: datetime
    ) -> None:
        self.recorded.append(
            EmailVerificationRequested(
                occurred_at=now, user_id=self.id, token=token, expires_at=expires_at
            )
        )

    def verify_email(self, now: datetime) -> None:
        if self.email_verified:
            return
        self.email_verified = True
        self.updated_at = now
        self.recorded.append(EmailVerified(occurred_at=now, user_id=self.id))

    def change_role(self, role: Role, *, active_admins: int, now: datetime) -> None:
        if role is not Role.ADMIN:
            self._ensure_not_last_admin(active_admins)
        if role is self.role:
            return
        previous, self.role = self.role, role
        self.updated_at = now
        self.recorded.append(
            RoleChanged(
                occurred_at=now, user_id=self.id, previous_role=previous.value, role=role.value
            )
        )

    def deactivate(self, *, active_admins: int, now: datetime) -> None:
        self._ensure_not_last_admin(active_admins)
        if not self.is_active:
            return
        self.is_active = False
        self.updated_at = now
        self.recorded.append(AccountDeactivated(occurred_at=now, user_id=self.id))

    def activate(self, now: datetime) -> None:
        if self.is_erased:
            raise NotFound("user", self.id)  # an erased account no longer exists
        if self.is_active:
            return
        self.is_active = True
        self.updated_at = now
        self.recorded.append(AccountActivated(occurred_at=now, user_id=self.id))

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def erase(self, *, active_admins: int, now: datetime) -> None:
        """Replace every personal detail by a tombstone, for good.

        The row stays so that what refers to it (the events the person
        organised) keeps a valid reference; it shows `ERASED_NAME`, has an
        address nobody can own or receive mail at, and a password hash no
        password matches. The last active admin cannot be erased.
        """
        if self.is_erased:
            raise NotFound("user", self.id)  # an erased account no longer exists
        self._ensure_not_last_admin(active_admins)
        self.email = erased_email(self.id)
        self.full_name = ERASED_NAME
        self.password_hash = ""
        self.email_verified = False
        self.is_active = False
        self.erased_at = now
        self.updated_at = now
        self.recorded.append(AccountErased(occurred_at=now, user_id=self.id))

    def _ensure_not_last_admin(self, active_admins: int) -> None:
        if self.is_active_admin and active_admins <= 1:
            raise LastActiveAdmin()


@dataclass(kw_only=True, slots=True)
class AuthSession:
    """One sign-in: a family of refresh tokens, of which only the newest is valid.

    Presenting an older member of the family means a token leaked: the whole
    family is revoked (OAuth 2.0 Security BCP, refresh token rotation).
    """

    id: UUID
    user_id: UUID
    current_token_digest: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    spent_digests: set[str] = field(default_factory=set)

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def rotate(self, presented_digest: str, new_digest: str, now: datetime) -> None:
        """Swap the current refresh token for a new one.

        Raises InvalidCredentials when the session is over; on reuse of a spent
        token the session is revoked *and* InvalidCredentials is raised, so the
        caller must persist the revocation before reporting the error.
        """
        if not self.is_usable(now):
            raise InvalidCredentials("the refresh token is no longer valid")
        if presented_digest != self.current_token_digest:
            self.revoke(now)
            raise InvalidCredentials("the refresh token was already used")
        self.spent_digests.add(presented_digest)
        self.current_token_digest = new_digest

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind, not a secret
    EMAIL_VERIFICATION = "email_verification"


@dataclass(kw_only=True, slots=True)
class AccountToken:
    """A single-use token mailed to an account's owner; only its digest is kept.

    The newest token of a purpose voids the account's older ones (the repository
    discards them when a new one is issued)."""

    digest: str
    user_id: UUID
    purpose: TokenPurpose
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def redeem(self, purpose: TokenPurpose, now: datetime) -> None:
        """Spend the token; InvalidToken when it is for something else, used or expired."""
        if purpose is not self.purpose or self.used_at is not None or now >= self.expires_at:
            raise InvalidToken()
        self.used_at = now
