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
    ("get", f"{API}/users/me"),
    ("patch", f"{API}/users/me"),
    ("delete", f"{API}/users/me"),
    ("get", f"{API}/users/me/registrations"),
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
