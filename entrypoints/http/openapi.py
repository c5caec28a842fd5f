"""OpenAPI pieces shared by the controllers (security schemes, problem responses), and
the finishing pass that declares what the generator cannot see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPI,
    SecurityScheme,
)
from msgspec import Struct

from domain.values import PasswordPolicy
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


# --- What the generator cannot see --------------------------------------------------
# Litestar builds the document from the handlers' signatures. What it leaves out (the
# headers the middleware adds, `additionalProperties: false` for Structs that refuse
# unknown fields, the second media type of the attendee export) or words loosely (an
# optional query parameter as `string | null`, one-item `oneOf`s for msgspec's UNSET)
# is put right below, once, on the finished document. Every rule here is pinned by
# tests/e2e/test_openapi_document.py and checked by third-party tools
# (tests/e2e/test_openapi_tools.py, tools/openapi-lint).

API = "/api/v1"
_HEADER = "#/components/headers/"
_SCHEMA = "#/components/schemas/"
#: Headers the edge middleware sets (entrypoints/http/middleware.py, rate_limits.py).
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the client's own `X-Request-ID` when it is "
        "1-128 of `A-Za-z0-9._:-`, else a new one); it is in the server's log line.",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
    },
    "RateLimit": {
        "description": 'Quota left in the current window, e.g. `"user";r=599;t=60` '
        "(draft-ietf-httpapi-ratelimit-headers). Absent when rate limits are off.",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The quota policy that applies, e.g. `"user";q=600;w=60`. '
        "Absent when rate limits are off.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "ETag": {
        "description": "The event's current version; send it back in `If-None-Match` "
        "(GET) or `If-Match` (PATCH).",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The URL path of the resource just created.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": 'A download: `attachment; filename="eventapi-export-2030-05-01.json"` '
        "(the date of the export, UTC).",
        "required": True,
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`no-store`: personal data is kept by no cache on the way.",
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
    },
    "Idempotent-Replayed": {
        "description": "`true` on an answer replayed for a repeated `Idempotency-Key` "
        "(the first request's status, body and `Location`; nothing was done again). "
        "Absent on every first answer.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
#: Answers to an `Idempotency-Key` request that are never stored, so never replayed
#: (entrypoints/http/idempotency.py: NOT_STORED, and 422 is the refusal itself).
NOT_REPLAYED = {"401", "403", "422", "429"}
#: Which responses carry ETag and Location: (method, path, status).
ETAG_RESPONSES = {
    ("post", f"{API}/events", "201"),
    ("get", f"{API}/events/{{event_id}}", "200"),
    ("get", f"{API}/events/{{event_id}}", "304"),
    ("patch", f"{API}/events/{{event_id}}", "200"),
}
LOCATION_RESPONSES = {
    ("post", f"{API}/auth/register", "201"),
    ("post", f"{API}/users", "201"),
    ("post", f"{API}/events", "201"),
    ("post", f"{API}/events/{{event_id}}/registrations", "201"),
}
#: The personal data export: a download no cache keeps.
DOWNLOAD_RESPONSES = {("get", f"{API}/users/me/export", "200")}
#: The calendar feed (outside /api/v1, rate limited all the same): its answers carry
#: an ETag of the calendar and a Cache-Control for a secret URL.
FEED_PATH = "/calendar/{feed}"
#: Header name -> (component name, component).
FEED_HEADERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ETag": (
        "FeedETag",
        {
            "description": "The calendar's current version; send it back in `If-None-Match`.",
            "required": True,
            "schema": {"type": "string"},
        },
    ),
    "Cache-Control": (
        "FeedCacheControl",
        {
            "description": "`private, no-cache`: a secret URL no shared cache keeps; the "
            "calendar app revalidates with `If-None-Match`.",
            "required": True,
            "schema": {"type": "string", "const": "private, no-cache"},
        },
    ),
}
#: Answered with `Accept: text/csv`, the attendee list as CSV instead of a JSON page.
CSV_EXPORT = ("get", f"{API}/events/{{event_id}}/attendees", "200")
LICENSE = {"name": "MIT", "identifier": "MIT"}
TAGS = {
    "auth": "Accounts and sessions: sign up, the OAuth2 token endpoint, sign out.",
    "users": "Your own account, and every account for admins.",
    "events": "Events: search, create, change, publish, cancel; the calendar entry.",
    "registrations": "Joining and leaving events; the attendee list and its CSV export.",
    "audit": "The audit log, append-only: who changed what, when and from where (admins).",
    "webhooks": "Signed webhook deliveries (Standard Webhooks) to your endpoints.",
    "operations": "Liveness and readiness probes for orchestrators.",
}
_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


#: Properties of JSON request bodies that set a new password: the configured policy's
#: lengths apply to them (a `current_password` is only compared, so it has none).
NEW_PASSWORD_FIELDS = frozenset({"password", "new_password"})
_DEFAULT_POLICY = PasswordPolicy()


@dataclass(frozen=True, slots=True)
class PasswordLengths:
    """The configured password policy's lengths, as the document states them."""

    min_length: int = _DEFAULT_POLICY.min_length
    max_length: int = _DEFAULT_POLICY.max_length


@dataclass
class DocumentedOpenAPIConfig(OpenAPIConfig):
    """`OpenAPIConfig` whose document comes out with `complete()` applied."""

    password_lengths: PasswordLengths = field(default_factory=PasswordLengths)

    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        document = CompleteOpenAPI(**{f.name: getattr(base, f.name) for f in fields(base)})
        document.password_lengths = self.password_lengths  # not a field: never serialised
        return document


@dataclass
class CompleteOpenAPI(OpenAPI):
    password_lengths = PasswordLengths()

    def to_schema(self) -> dict[str, Any]:
        return complete(super().to_schema(), self.password_lengths)


def complete(
    document: dict[str, Any], password_lengths: PasswordLengths | None = None
) -> dict[str, Any]:
    """The generated document, told the whole truth (see the comment above)."""
    components = document.setdefault("components", {})
    schemas: dict[str, Any] = components.get("schemas", {})
    for schema in _walk_schemas(document):
        _fold_single_one_of(schema)
    for name, struct in _strict_structs().items():
        if name in schemas and set(schemas[name].get("properties", {})) == struct:
            schemas[name]["additionalProperties"] = False
    _state_password_policy(document, password_lengths or PasswordLengths())
    document["info"].setdefault("license", LICENSE)
    used = {
        tag
        for item in document.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict)
        for tag in op.get("tags", [])
    }
    document["tags"] = [
        {"name": name, "description": text} for name, text in TAGS.items() if name in used
    ]
    components["headers"] = {name.replace("-", ""): spec for name, spec in HEADERS.items()}
    components["headers"].update(FEED_HEADERS.values())
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            operation.setdefault("security", [])  # public: say so
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path" and "schema" in parameter:
                    _drop_null(parameter["schema"])
            idempotent = any(
                p.get("in") == "header" and p.get("name") == "Idempotency-Key"
                for p in operation.get("parameters", [])
            )
            for status, response in operation.get("responses", {}).items():
                _declare_headers(method, path, status, response, idempotent=idempotent)
    return document


def request_body_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(media type, schema) of every object schema a request body uses, followed
    through `$ref`s, `allOf`/`anyOf`/`oneOf`, properties and array items; each once."""
    seen: set[int] = set()

    def follow(schema: Any, media: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen.add(id(schema))
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA):
            yield from follow(document["components"]["schemas"][ref.removeprefix(_SCHEMA)], media)
        if "properties" in schema:
            yield media, schema
            for value in schema["properties"].values():
                yield from follow(value, media)
        for key in ("allOf", "anyOf", "oneOf"):
            for option in schema.get(key, []):
                yield from follow(option, media)
        yield from follow(schema.get("items"), media)

    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield from follow(content.get("schema"), media)


def _state_password_policy(document: dict[str, Any], lengths: PasswordLengths) -> None:
    """A new password in a JSON body has the configured policy's lengths (the edge
    only refuses what no configuration allows; the use case applies the policy)."""
    for media, schema in request_body_schemas(document):
        if media != "application/json":
            continue  # the token endpoint's form: a sign-in compares, any length
        for name, prop in schema["properties"].items():
            if name in NEW_PASSWORD_FIELDS and isinstance(prop, dict):
                prop["minLength"] = lengths.min_length
                prop["maxLength"] = lengths.max_length


def _declare_headers(
    method: str, path: str, status: str, response: dict[str, Any], *, idempotent: bool
) -> None:
    headers: dict[str, Any] = response.get("headers") or {}
    wanted = ["X-Request-ID"]
    if path.startswith(API) or path == FEED_PATH:
        wanted += ["RateLimit", "RateLimit-Policy"]
    if status == "429":
        wanted.append("Retry-After")
    if (method, path, status) in ETAG_RESPONSES:
        wanted.append("ETag")
    if (method, path, status) in LOCATION_RESPONSES:
        wanted.append("Location")
    if (method, path, status) in DOWNLOAD_RESPONSES:
        wanted += ["Content-Disposition", "Cache-Control"]
    if idempotent and status[0] in "24" and status not in NOT_REPLAYED:
        wanted.append("Idempotent-Replayed")
    for name in wanted:
        headers[name] = {"$ref": _HEADER + name.replace("-", "")}
    if path == FEED_PATH and status in {"200", "304"}:
        for name, (component, _) in FEED_HEADERS.items():
            headers[name] = {"$ref": _HEADER + component}
    response["headers"] = headers
    if (method, path, status) == CSV_EXPORT:
        response.setdefault("content", {})["text/csv"] = {
            "schema": {"type": "string", "description": "One header row, then a row a person."}
        }


def _drop_null(schema: dict[str, Any]) -> None:
    """An optional text parameter is absent or a string, never JSON null (`?q=null` is
    the word "null"). Typed ones (numbers, UUIDs, enums) keep their `null`: Litestar
    reads `?radius_km=null` as leaving it out, so the document says so."""
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list):
            if any(
                o.get("type") != "string" or {"format", "enum"} & set(o)
                for o in options
                if o != {"type": "null"}
            ):
                continue
            kept = [option for option in options if option != {"type": "null"}]
            if len(kept) == 1:
                del schema[key]
                schema.update({k: v for k, v in kept[0].items() if k not in schema})
            elif len(kept) != len(options):
                schema[key] = kept
    if isinstance(schema.get("type"), list):
        if set(schema["type"]) != {"string", "null"} or {"format", "enum"} & set(schema):
            return
        types = [t for t in schema["type"] if t != "null"]
        schema["type"] = types[0] if len(types) == 1 else types
    if isinstance(schema.get("enum"), list):
        schema["enum"] = [value for value in schema["enum"] if value is not None]


def _fold_single_one_of(schema: dict[str, Any]) -> None:
    """`{"oneOf": [X], ...}` (msgspec's `T | UnsetType`) is just `{...X, ...}`."""
    options = schema.get("oneOf")
    if isinstance(options, list) and len(options) == 1 and isinstance(options[0], dict):
        del schema["oneOf"]
        only = options[0]
        if "$ref" in only and any(k != "$ref" for k in schema):
            schema["allOf"] = [only]  # keep a sibling description beside the $ref
        else:
            schema.update({k: v for k, v in only.items() if k not in schema})


def _walk_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_schemas(value)


def _strict_structs() -> dict[str, set[str]]:
    """Every HTTP Struct that refuses unknown fields, by name: its field names."""
    found: dict[str, set[str]] = {}
    pending: list[type[Struct]] = [Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        config = getattr(cls, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            found[cls.__name__] = set(cls.__struct_encode_fields__)
    return found
