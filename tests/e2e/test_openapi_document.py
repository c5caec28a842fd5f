"""docs/openapi.json: committed, current, served as is, and complete.

Complete means: exactly the contract's routes; every error status of every
/api/v1 operation documented with the problem schema (the token endpoint's RFC
6749 errors excepted); every status the access-control table observes is
documented for its operation; and the OAuth2 password flow Swagger UI's
Authorize button needs, with the token URL of the contract.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import API, BASE_URL, settings_for
from tests.e2e.test_access_control import CALLERS, TABLE

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"
REGENERATE = (
    "docs/openapi.json is out of date with the code. Regenerate and commit it:\n"
    "    uv run python scripts/export_openapi.py\n"
    "(or `eventapi openapi > docs/openapi.json`, which prints the same text)"
)
PROBLEM_REF = "#/components/schemas/Problem"
TOKEN = f"{API}/auth/token"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}

#: The contract's routes (api-contract.md), as OpenAPI spells their paths.
CONTRACT = {
    ("post", f"{API}/auth/register"),
    ("post", f"{API}/auth/token"),
    ("post", f"{API}/auth/revoke"),
    # v1.1, account recovery and verification
    ("post", f"{API}/auth/password-reset"),
    ("post", f"{API}/auth/password-reset/confirm"),
    ("post", f"{API}/auth/verify-email"),
    ("post", f"{API}/auth/verify-email/resend"),
    ("get", f"{API}/users/me"),
    ("patch", f"{API}/users/me"),
    ("delete", f"{API}/users/me"),
    ("get", f"{API}/users/me/registrations"),
    ("get", f"{API}/users/me/export"),
    # v1.1, the calendar feed: its secret URL lives outside /api/v1
    ("post", f"{API}/users/me/calendar-feed"),
    ("delete", f"{API}/users/me/calendar-feed"),
    ("get", "/calendar/{feed}"),
    ("get", f"{API}/users"),
    ("post", f"{API}/users"),
    ("get", f"{API}/users/{{user_id}}"),
    ("patch", f"{API}/users/{{user_id}}"),
    ("delete", f"{API}/users/{{user_id}}"),
    ("get", f"{API}/events"),
    ("post", f"{API}/events"),
    ("get", f"{API}/events/{{event_id}}"),
    ("patch", f"{API}/events/{{event_id}}"),
    ("delete", f"{API}/events/{{event_id}}"),
    ("post", f"{API}/events/{{event_id}}/cancel"),
    ("get", f"{API}/events/{{event_id}}/attendees"),
    ("post", f"{API}/events/{{event_id}}/registrations"),
    ("delete", f"{API}/events/{{event_id}}/registrations/me"),
    ("delete", f"{API}/events/{{event_id}}/registrations/{{registration_id}}"),
    ("get", f"{API}/events/{{event_id}}/calendar.ics"),
    ("get", f"{API}/audit-events"),  # v1.1: Data rights and audit
    ("post", f"{API}/events/{{event_id}}/co-organizers"),  # v1.1: Co-organizers
    ("get", f"{API}/events/{{event_id}}/co-organizers"),
    ("delete", f"{API}/events/{{event_id}}/co-organizers/{{user_id}}"),
    ("post", f"{API}/events/{{event_id}}/check-ins"),  # v1.1: Check-in
    # v1.1: Webhooks
    ("post", f"{API}/webhooks"),
    ("get", f"{API}/webhooks"),
    ("get", f"{API}/webhooks/{{webhook_id}}"),
    ("patch", f"{API}/webhooks/{{webhook_id}}"),
    ("delete", f"{API}/webhooks/{{webhook_id}}"),
    ("post", f"{API}/webhooks/{{webhook_id}}/rotate-secret"),
    ("post", f"{API}/webhooks/{{webhook_id}}/ping"),
    ("get", f"{API}/webhooks/{{webhook_id}}/deliveries"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
}


def _exporter() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "export_openapi", ROOT / "scripts" / "export_openapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rendered() -> str:
    text: str = _exporter().render()
    return text


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return loaded


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def openapi_path(route: str) -> str:
    """Litestar's "/events/{event_id:uuid}" is OpenAPI's "/events/{event_id}"."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", route)


def test_the_committed_document_is_current(rendered: str) -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if committed != rendered:
        diff = difflib.unified_diff(
            committed.splitlines(), rendered.splitlines(), "committed", "code", lineterm="", n=1
        )
        pytest.fail(REGENERATE + "\n\n" + "\n".join(list(diff)[:60]), pytrace=False)


def test_rendering_is_deterministic(rendered: str) -> None:
    assert _exporter().render() == rendered


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/e.db", tmp_path)
    async with AsyncTestClient(create_app(build_container(settings)), base_url=BASE_URL) as client:
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        yield body


async def test_the_service_serves_the_committed_document(
    served: dict[str, Any], document: dict[str, Any]
) -> None:
    assert served == document, REGENERATE


#: In the contract, but optional (it may be switched off, or kept out of the schema).
OPTIONAL = {("get", "/metrics")}


def test_the_document_describes_exactly_the_contract(document: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in operations(document)}

    assert documented - CONTRACT - OPTIONAL == set(), "documented routes not in the contract"
    assert CONTRACT - documented == set(), "contract routes the document lacks"


def test_the_problem_schema_is_rfc_9457(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    field_error = schemas["FieldError"]

    assert set(problem["required"]) == {"type", "title", "status"}
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert set(field_error["required"]) == {"field", "message"}


def test_every_api_error_is_documented_as_a_problem(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in operations(document):
        if not path.startswith(API):
            continue
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        if not errors:
            wrong.append(f"{method} {path}: no error responses at all")
        for code, response in errors.items():
            content = response.get("content", {})
            if path == TOKEN and code == "400":
                schema = content.get("application/json", {}).get("schema", {})
                if schema != {"$ref": "#/components/schemas/OAuthError"}:
                    wrong.append(f"{method} {path} {code}: not the RFC 6749 error body")
                continue
            if content != {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}:
                wrong.append(f"{method} {path} {code}: {sorted(content)}, not the problem schema")
            if not response.get("description"):
                wrong.append(f"{method} {path} {code}: no description")

    assert not wrong, "\n".join(wrong)


def test_the_rfc_6749_error_body_names_the_error(document: dict[str, Any]) -> None:
    oauth_error = document["components"]["schemas"]["OAuthError"]

    assert "error" in oauth_error["required"]


def test_every_api_operation_documents_the_statuses_it_can_answer(
    document: dict[str, Any],
) -> None:
    """The statuses any operation of its kind can answer, and every error status the
    access-control table sees it answer, are in its `responses`."""
    paths = document["paths"]
    missing = []
    for method, path, operation in operations(document):
        if not path.startswith(API):
            continue
        documented = set(operation["responses"])
        needed = {"429"}  # every /api/v1 route is rate limited
        if "requestBody" in operation:
            needed |= {"400", "413", "415"}
        if "{" in path:
            needed |= {"400", "404"}
        if operation.get("security"):
            needed.add("401")
        if missing_here := needed - documented:
            missing.append(f"{method} {path}: {sorted(missing_here)}")
    for row in TABLE:
        operation = paths[openapi_path(row.route)][row.method.lower()]
        for caller, status in zip(CALLERS, row.expected, strict=True):
            if status >= 400 and str(status) not in operation["responses"]:
                missing.append(f"{row.id}: {caller} gets {status}, undocumented")
            if status < 300 and str(status) not in operation["responses"]:
                missing.append(f"{row.id}: success {status} undocumented")

    assert not missing, "\n".join(sorted(set(missing)))


def test_conditional_requests_are_documented(document: dict[str, Any]) -> None:
    event = document["paths"][f"{API}/events/{{event_id}}"]

    assert "304" in event["get"]["responses"]
    assert "412" in event["patch"]["responses"]


def test_the_oauth2_password_flow_is_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    oauth2 = {name: s for name, s in schemes.items() if s["type"] == "oauth2"}

    assert len(oauth2) == 1
    [(name, scheme)] = oauth2.items()
    assert scheme["flows"]["password"]["tokenUrl"] == TOKEN
    signed_in_only = {
        (row.method.lower(), openapi_path(row.route))
        for row in TABLE
        if row.expected[CALLERS.index("anonymous")] == 401
    }
    undeclared = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if (method, path) in signed_in_only and {name: []} not in operation.get("security", [])
    ]
    assert not undeclared, f"signed-in routes without the {name} security requirement"
    for _, _, operation in operations(document):
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes)


def test_the_readiness_probe_documents_its_503(document: dict[str, Any]) -> None:
    assert set(document["paths"]["/health/ready"]["get"]["responses"]) == {"200", "503"}


# --- The whole truth (issue 12): what the server reads, sends and enforces -----------

HEADER_REF = "#/components/headers/"


def _response(document: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    response: dict[str, Any] = document["paths"][path][method]["responses"][status]
    return response


def test_the_token_endpoint_and_revoke_have_real_response_schemas(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    token = _response(document, "post", TOKEN, "200")
    revoke = _response(document, "post", f"{API}/auth/revoke", "200")

    assert token["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/TokenOut"}}
    }
    assert set(schemas["TokenOut"]["required"]) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
    }
    assert schemas["TokenOut"]["properties"]["token_type"]["const"] == "bearer"
    assert set(schemas["OAuthError"]["properties"]["error"]["enum"]) == {
        "invalid_request",
        "invalid_grant",
        "unsupported_grant_type",
    }
    assert "content" not in revoke  # RFC 7009: 200 with no body


def test_conditional_request_headers_are_parameters(document: dict[str, Any]) -> None:
    event = document["paths"][f"{API}/events/{{event_id}}"]

    def headers(operation: dict[str, Any]) -> set[str]:
        return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}

    assert headers(event["get"]) == {"If-None-Match"}
    assert headers(event["patch"]) == {"If-Match"}


@pytest.mark.parametrize(
    ("method", "path", "status", "header"),
    [
        ("post", f"{API}/events", "201", "ETag"),
        ("get", f"{API}/events/{{event_id}}", "200", "ETag"),
        ("get", f"{API}/events/{{event_id}}", "304", "ETag"),
        ("patch", f"{API}/events/{{event_id}}", "200", "ETag"),
        ("post", f"{API}/events", "201", "Location"),
        ("post", f"{API}/auth/register", "201", "Location"),
        ("post", f"{API}/users", "201", "Location"),
        ("post", f"{API}/events/{{event_id}}/registrations", "201", "Location"),
    ],
)
def test_etag_and_location_are_declared_where_they_are_sent(
    document: dict[str, Any], method: str, path: str, status: str, header: str
) -> None:
    declared = _response(document, method, path, status)["headers"]

    assert declared[header] == {"$ref": HEADER_REF + header}


def test_every_response_declares_the_edge_headers(document: dict[str, Any]) -> None:
    """X-Request-ID on every answer; the rate-limit headers on every /api/v1 answer;
    Retry-After on every 429."""
    components = document["components"]["headers"]
    missing = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            wanted = {"X-Request-ID"}
            if path.startswith(API):
                wanted |= {"RateLimit", "RateLimit-Policy"}
            if status == "429":
                wanted.add("Retry-After")
            declared = response.get("headers", {})
            for name in wanted - set(declared):
                missing.append(f"{method} {path} {status}: {name}")
            for name, ref in declared.items():
                assert ref["$ref"].removeprefix(HEADER_REF) in components, name
    assert not missing, "\n".join(missing)
    assert components["RetryAfter"]["required"] is True
    assert components["XRequestID"]["required"] is True


def test_text_bodies_are_declared_as_text(document: dict[str, Any]) -> None:
    calendar = _response(document, "get", f"{API}/events/{{event_id}}/calendar.ics", "200")
    export = _response(document, "get", f"{API}/events/{{event_id}}/attendees", "200")

    assert calendar["content"] == {"text/calendar": {"schema": {"type": "string"}}}
    assert export["content"]["text/csv"]["schema"]["type"] == "string"
    assert export["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegistrationPage"
    }


def test_json_bodies_that_refuse_unknown_fields_say_so(document: dict[str, Any]) -> None:
    """Every request body schema (the forms too) has `additionalProperties: false`:
    the server refuses a field it does not know (tests/security/test_input_strictness.py)."""
    schemas = document["components"]["schemas"]
    bodies = set()
    for _, _, operation in operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            ref = media["schema"].get("$ref") or media["schema"]["oneOf"][0]["$ref"]
            bodies.add(ref.rsplit("/", 1)[1])
    bodies.add("LocationIn")

    assert {"SignUpIn", "NewEventIn", "EventChangesIn", "OwnProfileIn"} <= bodies
    loose = {name for name in bodies if schemas[name].get("additionalProperties") is not False}
    assert loose <= {"TokenForm", "RevokeForm"}  # RFC 6749 §3.2 / RFC 7009: ignore unknown


def test_the_password_policy_is_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, field in [
        ("SignUpIn", "password"),
        ("NewUserIn", "password"),
        ("OwnProfileIn", "password"),
    ]:
        password = schemas[name]["properties"][field]
        assert (password["minLength"], password["maxLength"]) == (12, 128), name
        assert password["type"] == "string"


def test_bounds_the_server_enforces_are_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    location = schemas["LocationIn"]["properties"]
    search = {
        p["name"]: p["schema"] for p in document["paths"][f"{API}/events"]["get"]["parameters"]
    }

    assert (location["latitude"]["minimum"], location["latitude"]["maximum"]) == (-90, 90)
    assert (location["longitude"]["minimum"], location["longitude"]["maximum"]) == (-180, 180)
    for name in ("NewEventIn", "EventChangesIn"):
        capacity = schemas[name]["properties"]["capacity"]
        assert (capacity["type"], capacity["minimum"], capacity["maximum"]) == (
            "integer",
            1,
            100_000,
        )
    for name in ("starts_from", "starts_to"):
        pattern = re.compile(search[name]["pattern"])
        assert pattern.match("2030-05-01") and pattern.match("2030-05-01T18:00:00+02:00")
        assert not pattern.match("2030-05-01T18:00:00")  # no offset: refused
        assert not pattern.match("1969-12-31")  # before FIRST_YEAR
    assert re.match(search["near"]["pattern"], "52.52,13.405")
    assert not re.match(search["near"]["pattern"], "91,0")


def test_public_operations_say_security_is_empty(document: dict[str, Any]) -> None:
    public = {
        ("post", f"{API}/auth/register"),
        ("post", TOKEN),
        ("get", "/health/live"),
        ("get", "/health/ready"),
    }
    for method, path, operation in operations(document):
        assert "security" in operation, f"{method} {path}"
        if (method, path) in public:
            assert operation["security"] == [], f"{method} {path}"


def test_optional_text_parameters_are_strings_never_null(document: dict[str, Any]) -> None:
    """A text parameter is absent or a string (`?q=null` is the word): `string`, never
    `string | null`. Typed ones may say `null`: Litestar reads `?radius_km=null` as
    leaving it out (schemathesis holds the document to that)."""
    nullable, texts = [], set()
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            text = json.dumps(parameter["schema"])
            if '"string"' in text and '"format"' not in text and '"enum"' not in text:
                texts.add(parameter["name"])
                if "null" in text or "oneOf" in text:
                    nullable.append(f"{method} {path} {parameter['name']}: {text}")
    assert not nullable, "\n".join(nullable)
    assert {"cursor", "q", "city", "If-Match"} <= texts


def test_every_tag_is_described(document: dict[str, Any]) -> None:
    described = {tag["name"] for tag in document["tags"]}
    used = {tag for _, _, operation in operations(document) for tag in operation["tags"]}

    assert used == described


# --- What the server enforces, for every request body and parameter (v1.1) -----------
# These walk the whole document, so a route added later is held to the same rules.

SCHEMA_REF = "#/components/schemas/"
#: Form bodies of OAuth2 (RFC 6749 §3.2, RFC 7009 §2.1): unknown fields are ignored.
LOOSE_FORMS = {"TokenForm", "RevokeForm"}
#: A password that is only compared with the one stored: no policy applies to it.
COMPARED_PASSWORDS = {"current_password"}
#: A query parameter named like this filters by a date or a moment.
DATE_PARAMETER = re.compile(r"(^|_)(from|to|since|until|before|after|at|date|day)$")


def request_bodies(document: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(operation, media type, schema name, schema) of every object schema a request
    body uses, through `$ref`s, properties, array items and `*Of`s."""
    schemas = document["components"]["schemas"]
    for method, path, operation in operations(document):
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            pending: list[tuple[str, Any]] = [("(inline)", content["schema"])]
            seen: set[str] = set()
            while pending:
                name, schema = pending.pop()
                if not isinstance(schema, dict):
                    continue
                if "$ref" in schema:
                    ref = schema["$ref"].removeprefix(SCHEMA_REF)
                    if ref not in seen:
                        seen.add(ref)
                        pending.append((ref, schemas[ref]))
                if "properties" in schema:
                    yield f"{method} {path}", media, name, schema
                    pending += [(name, value) for value in schema["properties"].values()]
                pending += [
                    (name, option)
                    for key in ("allOf", "anyOf", "oneOf")
                    for option in schema.get(key, [])
                ]
                pending.append((name, schema.get("items")))


def strict_structs() -> dict[str, set[str]]:
    """Every HTTP Struct that refuses unknown fields (forbid_unknown_fields): its fields."""
    import msgspec

    import entrypoints.http.app  # noqa: F401 - every schema module is imported by then

    found: dict[str, set[str]] = {}
    pending: list[type[msgspec.Struct]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__struct_config__.forbid_unknown_fields:
            found[cls.__name__] = set(cls.__struct_fields__)
    return found


def test_every_request_body_states_that_it_refuses_unknown_fields(
    document: dict[str, Any],
) -> None:
    """Every object a JSON body holds (nested ones too) is a Struct that refuses unknown
    fields, and its schema says `additionalProperties: false`; only the OAuth2 forms
    ignore what they do not know, as their RFCs ask."""
    strict = strict_structs()
    wrong, seen = [], set()
    for operation, media, name, schema in request_bodies(document):
        seen.add(name)
        if media != "application/json":
            if name not in LOOSE_FORMS and schema.get("additionalProperties") is not False:
                wrong.append(f"{operation}: form {name} does not refuse unknown fields")
            continue
        if name not in strict:
            wrong.append(f"{operation}: {name} is not a forbid_unknown_fields Struct")
        elif set(schema["properties"]) != strict[name]:
            wrong.append(f"{operation}: {name} documents other fields than the Struct has")
        if schema.get("additionalProperties") is not False:
            wrong.append(f"{operation}: {name} lacks additionalProperties: false")

    assert not wrong, "\n".join(sorted(set(wrong)))
    assert {"SignUpIn", "NewEventIn", "LocationIn", "OwnProfileIn", "TokenForm"} <= seen
    # Every strict Struct the document shows says so, wherever it appears.
    schemas = document["components"]["schemas"]
    for name in strict.keys() & schemas.keys():
        assert schemas[name].get("additionalProperties") is False, name


def test_every_new_password_states_the_password_policy(document: dict[str, Any]) -> None:
    """A password field of a JSON body sets a password (the policy's 12 to 128
    characters, the configured default) unless it is one that is only compared."""
    found, wrong = [], []
    for operation, media, name, schema in request_bodies(document):
        for field, prop in schema["properties"].items():
            if media != "application/json" or "password" not in field:
                continue
            if field in COMPARED_PASSWORDS:
                continue
            found.append(f"{name}.{field}")
            bounds = (prop.get("type"), prop.get("minLength"), prop.get("maxLength"))
            if bounds != ("string", 12, 128):
                wrong.append(f"{operation}: {name}.{field} says {bounds}")

    assert not wrong, "\n".join(sorted(set(wrong)))
    assert {"SignUpIn.password", "NewUserIn.password", "OwnProfileIn.password"} <= set(found)


def test_every_date_parameter_declares_its_format(document: dict[str, Any]) -> None:
    """A date or date-time parameter says which: `format: date` / `date-time` (alone or
    as every option of an `anyOf`), or, taking either, a pattern that accepts a date and
    an RFC 3339 date-time with its offset (and nothing else), described as such."""
    dated, wrong = [], []
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            options = schema.get("anyOf") or schema.get("oneOf") or [schema]
            formats = {o.get("format") for o in options if o != {"type": "null"}}
            named = DATE_PARAMETER.search(parameter["name"]) is not None
            if not named and not formats & {"date", "date-time"}:
                continue
            where = f"{method} {path} {parameter['name']}"
            dated.append(parameter["name"])
            if formats and formats <= {"date", "date-time"}:
                continue
            pattern = schema.get("pattern")
            if pattern is None:
                wrong.append(f"{where}: neither a format nor a pattern")
                continue
            accepts = re.compile(pattern).search
            for good in ("2030-05-01", "2030-05-01T18:00:00+02:00", "2030-05-01T18:00:00Z"):
                if not accepts(good):
                    wrong.append(f"{where}: refuses {good}")
            for bad in ("2030-05-01T18:00:00", "tomorrow", "05/01/2030", "2030-13-01"):
                if accepts(bad):
                    wrong.append(f"{where}: accepts {bad}")
            text = parameter.get("description", "") + schema.get("description", "")
            if "date" not in text or "RFC 3339" not in text:
                wrong.append(f"{where}: the description does not say what it takes")

    assert not wrong, "\n".join(wrong)
    assert {"starts_from", "starts_to"} <= set(dated)


@pytest.fixture
async def strict_policy(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/p.db",
        tmp_path,
        EVENTAPI_PASSWORD_MIN_LENGTH="20",
        EVENTAPI_PASSWORD_MAX_LENGTH="40",
    )
    async with AsyncTestClient(create_app(build_container(settings)), base_url=BASE_URL) as client:
        yield client


async def test_the_served_document_states_the_configured_password_policy(
    strict_policy: AsyncTestClient[Any],
) -> None:
    served = (await strict_policy.get("/schema/openapi.json")).json()
    schemas = served["components"]["schemas"]

    for name in ("SignUpIn", "NewUserIn", "OwnProfileIn"):
        password = schemas[name]["properties"]["password"]
        assert (password["minLength"], password["maxLength"]) == (20, 40), name
    # ... and the server enforces exactly that: 19 characters refused, 20 and 40 taken.
    for length, status in ((19, 400), (20, 201), (40, 201), (41, 400)):
        password = ("unusual passphrase " * 3)[:length]
        response = await strict_policy.post(
            f"{API}/auth/register",
            json={"email": f"p{length}@example.org", "password": password, "full_name": "P"},
        )
        assert response.status_code == status, (length, response.text)
        if status == 400:
            assert [e["field"] for e in response.json()["errors"]] == ["password"]


async def test_a_looser_configured_policy_is_not_overruled_at_the_edge(tmp_path: Path) -> None:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/l.db", tmp_path, EVENTAPI_PASSWORD_MIN_LENGTH="8"
    )
    async with AsyncTestClient(create_app(build_container(settings)), base_url=BASE_URL) as client:
        served = (await client.get("/schema/openapi.json")).json()
        response = await client.post(
            f"{API}/auth/register",
            json={"email": "short@example.org", "password": "qz7-vex!", "full_name": "S"},
        )

    assert served["components"]["schemas"]["SignUpIn"]["properties"]["password"]["minLength"] == 8
    assert response.status_code == 201, response.text
