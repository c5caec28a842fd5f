"""docs/configuration.md lists exactly the variables entrypoints/settings.py reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "entrypoints" / "settings.py"
DOCS = ROOT / "docs" / "configuration.md"


def read_by_settings() -> set[str]:
    """Every `read.text("NAME")`, and `read.flag`, `.number`, `.items`, `.rate` alike."""
    source = SETTINGS.read_text(encoding="utf-8")
    names = re.findall(r'\bread\.(?:text|flag|number|items|rate)\(\s*"([A-Z0-9_]+)"', source)
    return {f"EVENTAPI_{name}" for name in names}


def documented() -> set[str]:
    rows = DOCS.read_text(encoding="utf-8").splitlines()
    return {match.group(1) for row in rows if (match := re.match(r"\| `(EVENTAPI_\w+)` \|", row))}


def test_the_checker_finds_the_variables_settings_reads() -> None:
    assert {"EVENTAPI_DATABASE_URL", "EVENTAPI_SECRET_KEY", "EVENTAPI_ENV"} <= read_by_settings()


def test_every_variable_is_documented_and_nothing_else() -> None:
    assert documented() == read_by_settings()
