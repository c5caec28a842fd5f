"""The dependency rule, checked two ways.

import-linter (contracts in pyproject.toml) is a denylist: it fails on the
packages it names. The AST check here is an allowlist: the core may import the
standard library and its own layers, and nothing else, whatever the package is
called. The last tests prove the import-linter step in CI really bites.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
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
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


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


def copy_project(destination: Path) -> Path:
    shutil.copy2(ROOT / "pyproject.toml", destination / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            destination / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return destination


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on `project`. It puts the working directory first on
    sys.path, ahead of the editable install of the real tree; PYTHONPATH says
    the same for good measure."""
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: install the dev group"
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(  # noqa: S603 - a fixed executable from our own environment
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_linter_keeps_the_contracts_of_the_project(tmp_path: Path) -> None:
    result = lint_imports(copy_project(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_import_linter_rejects_a_framework_import_in_the_domain(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    values = project / "domain" / "values.py"
    values.write_text(values.read_text(encoding="utf-8") + "\nimport sqlalchemy\n")

    result = lint_imports(project)

    assert result.returncode != 0, result.stdout + result.stderr
    # The copy, not the installed tree, was analysed, and it failed for this import.
    assert "domain.values -> sqlalchemy" in result.stdout, result.stdout + result.stderr
    assert "domain is not allowed to import sqlalchemy" in result.stdout
