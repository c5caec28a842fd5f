"""`eventapi openapi`: the OpenAPI document, built from the app without serving it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def openapi_document(env: Mapping[str, str] | None = None) -> str:
    """Pretty JSON with sorted keys, so the same code always prints the same text.

    The schema does not depend on the secret key, so a throwaway one is used:
    printing it needs no data folder and works even where production settings
    would refuse to start. Nothing connects to the database.
    """
    environment = dict(os.environ if env is None else env)
    environment["EVENTAPI_SECRET_KEY"] = secrets.token_urlsafe(48)
    app = create_app(build_container(Settings.from_environment(environment)))
    schema = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
