"""The dependency rule, checked two ways.

import-linter (contracts in pyproject.toml) is a denylist: it fails on the
packages it names (tests/integration/test_import_linter.py proves that the CI
step really bites). The AST check here is an allowlist: the core may import the
standard library and its own layers, and nothing else, whatever the package is
called.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "adapters", "entrypoints")
#: What each core package may import besides the standard library.
ALLOWED = {
    "domain": frozenset({"domain"}),
    "application": frozenset({"domain", "application"}),
}


def imported_top_levels(source: str, package: str) -> set[str]:
    """Top-level names of every module `source` imports; relative imports are `package`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:
                names.add(package)
            elif node.module is not None:
                names.add(node.module.partition(".")[0])
    return names


def disallowed_imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        imported = imported_top_levels(path.read_text(encoding="utf-8"), package)
        bad = {name for name in imported - ALLOWED[package] if name not in sys.stdlib_module_names}
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_checker_sees_every_kind_of_import() -> None:
    source = "\n".join(
        [
            "import os.path, sqlalchemy.orm",
            "from msgspec import Struct",
            "from . import sibling",
            "from .ports import thing",
            "def f() -> None:",
            "    import redis",
        ]
    )
    assert imported_top_levels(source, "domain") == {
        "os",
        "sqlalchemy",
        "msgspec",
        "domain",
        "redis",
    }


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_core_imports_only_the_standard_library_and_inner_layers(package: str) -> None:
    assert len(list((ROOT / package).rglob("*.py"))) > 3, f"no sources found under {package}/"
    assert disallowed_imports(package) == {}
