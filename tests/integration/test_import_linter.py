"""The import-linter step of CI really bites: it passes on the project and fails
on a copy of it with a framework import in the domain. It runs import-linter in
a subprocess, so it lives here rather than in tests/unit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "adapters", "entrypoints")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


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
