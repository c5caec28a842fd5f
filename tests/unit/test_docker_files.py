"""The container files stay in step with the code (no Docker engine is needed)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def test_the_image_copies_every_package_the_wheel_ships() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert all(f"COPY {package} ./{package}" in dockerfile for package in packages)
    assert "uv sync --locked --no-dev" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)


def test_compose_uses_only_documented_settings_and_keeps_secrets_out() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    documented = set(
        re.findall(r"`(EVENTAPI_[A-Z_]+)`", (ROOT / "docs/configuration.md").read_text())
    )
    for name, service in compose["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.startswith("EVENTAPI_"):
                assert variable in documented, f"{name}: {variable} is not in docs/configuration.md"
            if variable == "EVENTAPI_SECRET_KEY":
                assert str(value).startswith("${"), "the secret key must come from outside"
    assert {"postgres", "redis", "migrate", "api", "worker"} <= set(compose["services"])
    assert compose["services"]["api"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
