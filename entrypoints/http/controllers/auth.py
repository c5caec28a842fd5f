"""`/api/v1/auth`: sign-up, the OAuth2 token endpoint (RFC 6749) and revocation (RFC 7009)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, JSONBody
from msgspec import Meta, Struct

from application.errors import NotAuthenticated
from application.principal import Principal
from application.sessions import TokenPair
from application.use_cases.refresh_session import RefreshCommand, RefreshSession
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.resend_verification import (
    ResendVerification,
    ResendVerificationCommand,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.revoke_token import RevokeCommand, RevokeToken
from application.use_cases.sign_in import SignInCommand, SignInWithPassword
from application.use_cases.sign_up import SignUp, SignUpCommand
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.errors import InvalidCredentials, InvalidValue
from entrypoints.http.guards import requires_bearer
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import BEARER, responses
from entrypoints.http.schemas.users import (
    PasswordResetConfirmIn,
    PasswordResetIn,
    SignUpIn,
    UserOut,
    VerifyEmailIn,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
MAX_FIELD = 4096


class TokenOut(Struct, frozen=True):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: Annotated[int, Meta(ge=1, description="Seconds the access token lives")]
    refresh_token: str


OAuthErrorCode = Literal["invalid_request", "invalid_grant", "unsupported_grant_type"]


class OAuthError(Struct, frozen=True):
    """RFC 6749 §5.2 error body."""

    error: OAuthErrorCode
    error_description: str


class TokenForm(Struct, frozen=True):
    """RFC 6749 §4.3 / §6, form-encoded; validated by hand so that every
    failure is an RFC 6749 error body rather than a problem document."""

    grant_type: str = ""
    username: str = ""
    password: str = ""
    refresh_token: str = ""
    scope: str = ""


class RevokeForm(Struct, frozen=True):
    token: str = ""
    token_type_hint: str = ""


def oauth_error(error: OAuthErrorCode, description: str) -> Response[OAuthError]:
    return Response(OAuthError(error, description), status_code=400, headers=NO_STORE)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @idempotent
    @post(
        "/register",
        status_code=201,
        summary="Create an attendee account",
        responses=responses(400, 409, 413, 415, 429),
    )
    async def register(
        self, data: JSONBody[SignUpIn], sign_up: NamedDependency[SignUp]
    ) -> Response[UserOut]:
        user = await sign_up.execute(
            SignUpCommand(email=data.email, password=data.password, full_name=data.full_name)
        )
        return Response(
            UserOut.of(user), status_code=201, headers={"Location": f"/api/v1/users/{user.id}"}
        )

    @post(
        "/token",
        status_code=200,
        summary="OAuth2 token endpoint: password and refresh_token grants",
        responses={
            **responses(413, 415, 429),
            200: ResponseSpec(
                data_container=TokenOut,
                description="Signed in (RFC 6749 §5.1); never cached (`Cache-Control: no-store`).",
                generate_examples=False,
            ),
            400: ResponseSpec(
                data_container=OAuthError,
                description="RFC 6749 §5.2 error",
                generate_examples=False,
            ),
        },
    )
    async def token(
        self,
        data: Annotated[TokenForm, FORM],
        sign_in: NamedDependency[SignInWithPassword],
        refresh_session: NamedDependency[RefreshSession],
    ) -> Response[Any]:
        if any(
            len(value) > MAX_FIELD for value in (data.username, data.password, data.refresh_token)
        ):
            return oauth_error("invalid_request", "a field is too long")
        try:
            if data.grant_type == "password":
                if not data.username or not data.password:
                    return oauth_error("invalid_request", "username and password are required")
                pair = await sign_in.execute(
                    SignInCommand(email=data.username, password=data.password)
                )
            elif data.grant_type == "refresh_token":
                if not data.refresh_token:
                    return oauth_error("invalid_request", "refresh_token is required")
                pair = await refresh_session.execute(
                    RefreshCommand(refresh_token=data.refresh_token)
                )
            elif not data.grant_type:
                return oauth_error("invalid_request", "grant_type is required")
            else:
                return oauth_error("unsupported_grant_type", "use password or refresh_token")
        except (InvalidCredentials, InvalidValue):
            return oauth_error("invalid_grant", "the credentials are not valid")
        return Response(_token_out(pair), headers=NO_STORE)

    @post(
        "/revoke",
        status_code=200,
        summary="Sign out: revoke a refresh or access token (RFC 7009)",
        security=BEARER,
        guards=[requires_bearer],
        responses={
            **responses(400, 401, 413, 415, 429),
            200: ResponseSpec(
                None,
                description="Revoked, or not a valid token to begin with (RFC 7009 §2.2): "
                "no body either way.",
            ),
        },
    )
    async def revoke(
        self,
        data: Annotated[RevokeForm, FORM],
        principal: NamedDependency[Principal | None],
        revoke_token: NamedDependency[RevokeToken],
    ) -> Response[None]:
        if principal is None:
            raise NotAuthenticated("sign in to sign out")
        if not data.token:  # RFC 7009 §2.1: the token is required
            raise InvalidValue("token", "is required")
        if len(data.token) <= MAX_FIELD:
            await revoke_token.execute(RevokeCommand(actor=principal, token=data.token))
        return Response(None, status_code=200, headers=NO_STORE)


class AcceptedOut(Struct, frozen=True):
    """What a 202 says: the same text whatever the request found."""

    detail: str


RESET_ACCEPTED = AcceptedOut(
    "If an active account has this address, a mail with a reset link is on its way."
)
RESEND_ACCEPTED = AcceptedOut(
    "If the address still needs verifying, a mail with a new link is on its way."
)
ACCEPTED = ResponseSpec(
    data_container=AcceptedOut,
    description="Accepted: the same body whatever the request found.",
    generate_examples=False,
)
DONE = ResponseSpec(None, description="Done; no body.")


class AccountRecoveryController(Controller):
    """Password reset and e-mail verification by mailed single-use tokens
    (docs/security.md, "Password reset and e-mail verification")."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/password-reset",
        status_code=202,
        summary="Ask for a password reset mail",
        description="Always 202 with the same body, in about the same time, whether or not an "
        "account has the address: if an active one has it, a mail with a single-use link "
        "(valid 30 minutes; it voids older ones) is sent. Limits: 5 per hour per client "
        "address (`password-reset`) and 3 per hour per address asked for "
        "(`password-reset-account`, counted for unknown addresses too).",
        responses={**responses(400, 413, 415, 429), 202: ACCEPTED},
    )
    async def request_password_reset(
        self,
        data: JSONBody[PasswordResetIn],
        request_password_reset: NamedDependency[RequestPasswordReset],
    ) -> Response[AcceptedOut]:
        await request_password_reset.execute(RequestPasswordResetCommand(email=data.email))
        return Response(RESET_ACCEPTED, status_code=202, headers=NO_STORE)

    @post(
        "/password-reset/confirm",
        status_code=204,
        summary="Set a new password with a mailed reset token",
        description="The password policy of sign-up applies. Every session of the account "
        "is revoked. A used, expired or unknown token is 400 `/problems/invalid-token`.",
        responses={**responses(400, 413, 415, 429), 204: DONE},
    )
    async def confirm_password_reset(
        self, data: JSONBody[PasswordResetConfirmIn], reset_password: NamedDependency[ResetPassword]
    ) -> Response[None]:
        await reset_password.execute(ResetPasswordCommand(token=data.token, password=data.password))
        return Response(None, status_code=204, headers=NO_STORE)

    @post(
        "/verify-email",
        status_code=204,
        summary="Verify the account's e-mail address with a mailed token",
        description="Tokens are mailed at sign-up and by `/auth/verify-email/resend`, and "
        "expire after 48 hours. A used, expired or unknown token is 400 "
        "`/problems/invalid-token`.",
        responses={**responses(400, 413, 415, 429), 204: DONE},
    )
    async def verify_email(
        self, data: JSONBody[VerifyEmailIn], verify_email: NamedDependency[VerifyEmail]
    ) -> Response[None]:
        await verify_email.execute(VerifyEmailCommand(token=data.token))
        return Response(None, status_code=204, headers=NO_STORE)

    @post(
        "/verify-email/resend",
        status_code=202,
        summary="Mail a new verification link to the signed-in user",
        description="A new link (48 hours) voids the older ones. An address that is "
        "already verified gets no mail; the answer is the same 202. Limit: 3 per hour "
        "per account (`verify-email`).",
        security=BEARER,
        guards=[requires_bearer],
        responses={**responses(401, 429), 202: ACCEPTED},
    )
    async def resend_verification(
        self,
        principal: NamedDependency[Principal | None],
        resend_verification: NamedDependency[ResendVerification],
    ) -> Response[AcceptedOut]:
        await resend_verification.execute(ResendVerificationCommand(actor=principal))
        return Response(RESEND_ACCEPTED, status_code=202, headers=NO_STORE)


def _token_out(pair: TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token,
        token_type="bearer",  # noqa: S106 - RFC 6749 token type, not a secret
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
    )
