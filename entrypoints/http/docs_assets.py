"""The documentation UIs' scripts and styles, served from the package itself."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/schema/assets"
ASSETS_DIR = Path(__file__).parent / "docs_static"


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[ASSETS_DIR],
        include_in_schema=False,
        cache_control=None,
        name="docs-assets",
    )
