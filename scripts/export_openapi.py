"""Write docs/openapi.json, the OpenAPI document the app generates.

    uv run python scripts/export_openapi.py          # rewrite docs/openapi.json
    uv run python scripts/export_openapi.py --check  # exit 1 if it is out of date

The text is `json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False)` plus
a newline, exactly what `eventapi openapi` prints, so either command regenerates
the file. The app is built from fixed settings (nothing read from the environment,
nothing connected), so the output depends on the code alone.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"


def render() -> str:
    """The OpenAPI document of the current code, as committed in docs/openapi.json."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from entrypoints.container import build_container
    from entrypoints.http.app import create_app
    from entrypoints.settings import DatabaseSettings, SecuritySettings, Settings

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            data_dir=Path(scratch),
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{scratch}/never-opened.db"),
            security=SecuritySettings(secret_key=b"only-for-rendering-the-openapi-document"),
        )
        schema = create_app(build_container(settings)).openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if DOCUMENT.exists() and DOCUMENT.read_text(encoding="utf-8") == text:
            return 0
        print(f"{DOCUMENT.relative_to(ROOT)} is out of date: run scripts/export_openapi.py")
        return 1
    if argv[1:]:
        print(__doc__)
        return 2
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
