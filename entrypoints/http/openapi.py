"""OpenAPI pieces shared by the controllers: security schemes and problem responses."""

from __future__ import annotations

from http import HTTPStatus

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme

from entrypoints.http.problems import PROBLEM_JSON, Problem

SCHEME = "OAuth2PasswordBearer"
TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret
BEARER: list[dict[str, list[str]]] = [{SCHEME: []}]
#: Public routes that answer more to a signed-in caller (drafts for their organizer).
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {SCHEME: []}]

COMPONENTS = Components(
    security_schemes={
        SCHEME: SecurityScheme(
            type="oauth2",
            description="Sign in with your email as username (Swagger UI's Authorize button).",
            flows=OAuthFlows(password=OAuthFlow(token_url=TOKEN_URL, scopes={})),
        )
    }
)

_WHY = {
    400: "The input is malformed or invalid; `errors` lists the fields.",
    401: "No valid access token (see `WWW-Authenticate`).",
    403: "Signed in, but not allowed to do this.",
    404: "No such resource, or not one the caller may see.",
    409: "The request clashes with the current state.",
    412: "`If-Match` names a stale version.",
    413: "The body is over 1 MiB.",
    415: "The body is not of the expected content type.",
    429: "Rate limited; retry after `Retry-After` seconds.",
}


def responses(*codes: int) -> dict[int, ResponseSpec]:
    """Problem+json responses for the given status codes."""
    return {
        code: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_WHY.get(code, HTTPStatus(code).phrase),
            generate_examples=False,
        )
        for code in codes
    }
