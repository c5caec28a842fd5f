"""Issuing the single-use tokens mailed to an account's owner.

A token is 256 random bits (`TokenService.new_refresh_token`, URL-safe base64)
and is stored only as its SHA-256 digest (`TokenService.digest`), like refresh
tokens. Issuing one discards the account's older tokens of the same purpose, so
only the newest link works. The raw token leaves the use case in a domain fact
(`PasswordResetRequested`, `EmailVerificationRequested`, `UserSignedUp`) whose
notification carries it to the mail; docs/security.md says how long it stays.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from application.ports.security import TokenService
from application.ports.unit_of_work import UnitOfWork
from domain.errors import InvalidToken
from domain.users import AccountToken, TokenPurpose

LIFETIMES = {
    TokenPurpose.PASSWORD_RESET: timedelta(minutes=30),
    TokenPurpose.EMAIL_VERIFICATION: timedelta(hours=48),
}


def new_token(
    tokens: TokenService, user_id: UUID, purpose: TokenPurpose, now: datetime
) -> tuple[str, AccountToken]:
    """A fresh raw token and the record of it that is stored (its digest only)."""
    raw = tokens.new_refresh_token()
    record = AccountToken(
        digest=tokens.digest(raw),
        user_id=user_id,
        purpose=purpose,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    return raw, record


async def store_replacing_older(uow: UnitOfWork, token: AccountToken) -> None:
    """Store `token`, voiding every older token of its purpose for the account."""
    await uow.account_tokens.discard_for_user(token.user_id, token.purpose)
    await uow.account_tokens.add(token)


async def redeem(
    uow: UnitOfWork, tokens: TokenService, raw: str, purpose: TokenPurpose, now: datetime
) -> AccountToken:
    """Spend the token (locked until the unit of work ends); InvalidToken if it is
    unknown, used, voided, expired or for another purpose."""
    token = await uow.account_tokens.find(tokens.digest(raw)) if raw else None
    if token is None:
        raise InvalidToken()
    token.redeem(purpose, now)
    await uow.account_tokens.save(token)
    return token
